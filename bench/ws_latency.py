"""Chat websocket latency: send -> receive at the other member, at increasing message rates.

    .venv/bin/python bench/ws_latency.py                       # temporary SQLite file, Redis layer
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_ws_bench .venv/bin/python bench/ws_latency.py
    .venv/bin/python bench/ws_latency.py --rates 10,100,300 --duration 10

Starts daphne (config.asgi) in a subprocess on a migrated database seeded with one doctor and
patients who each have a chat with the doctor (or attaches to a running server with --url).
Each pair (the patient and the doctor on /ws/chats/<id>/, JWT in ?token=, Origin set) sends
{"type": "message"} frames both ways; the time is taken from the send until the *other* member
receives the broadcast (matched by client_id). For each target rate (messages per second over
all pairs) it sends for --duration seconds and prints the achieved rate, p50/p95/p99/max and
how many messages never arrived. The same schedule is then run against a raw websocket relay
(the `websockets` package, no Django, no database, no Redis) in its own process: the baseline
of what the machine and the client cost.

The chat consumer allows 20 messages per 10 s per connection, so a higher total rate needs more
pairs: each sender sends at most --per-connection-rate messages per second.
"""

import argparse
import asyncio
import json
import math
import sys
import time
import uuid

from websockets.exceptions import ConnectionClosed

from _setup import percentile
from _ws import (
    Daphne,
    Relay,
    access_token,
    add_common_arguments,
    cleanup_redis,
    close_db,
    connect,
    failure_reason,
    load_line,
    machine_info,
    prepare,
    raise_nofile,
    remove_temp,
    seed,
    seed_history,
    ws_base,
)


class Peer:
    """One client socket; ``other`` is the peer that must receive what this one sends."""

    def __init__(self, ws, label):
        self.ws, self.label, self.other = ws, label, None
        self.reader = None


class Round:
    """Messages in flight in one step: client_id -> (send time, peer that must receive it)."""

    def __init__(self, *, acks: bool):
        self.pending: dict[str, tuple[float, Peer]] = {}
        self.acks = acks  # Haven acks every stored message to its sender; the relay does not
        self.unacked: set[str] = set()
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.all_sent = False
        self.done = asyncio.Event()
        self.last_receive = 0.0

    def check_done(self):
        if self.all_sent and not self.pending and not self.unacked:
            self.done.set()


async def read_frames(peer: Peer, state: dict):
    """Record the latency of each message at the peer it was meant for; ignore the rest (the
    sender's own copy of the broadcast, presence, typing)."""
    try:
        async for raw in peer.ws:
            handle_frame(peer, state, raw, time.perf_counter())
    except ConnectionClosed as exc:
        state["closed"].append(f"{peer.label}: {failure_reason(exc)}")


def handle_frame(peer: Peer, state: dict, raw, now: float):
    current = state.get("round")
    if current is None:
        return
    frame = json.loads(raw)
    kind = frame.get("type")
    if kind == "message":
        message = frame.get("message") or frame  # Haven wraps the stored message; the relay does not
        entry = current.pending.get(message.get("client_id"))
        if entry is not None and entry[1] is peer:
            del current.pending[message["client_id"]]
            current.latencies.append(now - entry[0])
            current.last_receive = now
    elif kind == "ack":
        current.unacked.discard(frame.get("client_id"))
    elif kind == "error":
        code = frame.get("code", "?")
        current.errors[code] = current.errors.get(code, 0) + 1
        current.unacked.discard(frame.get("client_id"))
        current.pending.pop(frame.get("client_id"), None)
    else:
        return
    current.check_done()


async def open_pairs(urls_and_labels, origin, *, concurrency=20, server=None):
    """Open the sockets of each pair (two URLs per pair) with bounded concurrency."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(url, label):
        async with semaphore:
            try:
                return Peer(await connect(url, origin), label)
            except Exception as exc:  # noqa: BLE001 — reported with the reason
                raise SystemExit(f"could not connect {label}: {failure_reason(exc, server)}") from exc

    pairs = []
    tasks = [(asyncio.create_task(one(a, la)), asyncio.create_task(one(b, lb)))
             for (a, la), (b, lb) in urls_and_labels]
    for ta, tb in tasks:
        a, b = await ta, await tb
        a.other, b.other = b, a
        pairs.append((a, b))
    return pairs


async def run_step(pairs, state, *, rate, duration, per_connection, drain, size, tag, acks):
    """Send round(rate*duration) messages on a fixed schedule, alternating over the senders, then
    wait (up to ``drain`` s) until every one has arrived. Returns the step's figures."""
    n_pairs = min(len(pairs), max(1, math.ceil(rate / per_connection / 2)))
    senders = [peer for a, b in pairs[:n_pairs] for peer in (a, b)]
    total = max(1, round(rate * duration))
    current = Round(acks=acks)
    state["round"] = current
    filler = "x" * max(0, size - 24)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    first_send = time.perf_counter()
    for i in range(total):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sender = senders[i % len(senders)]
        client_id = f"{tag}-{i}"
        current.pending[client_id] = (time.perf_counter(), sender.other)
        if acks:
            current.unacked.add(client_id)
        try:
            await sender.ws.send(json.dumps({"type": "message", "client_id": client_id,
                                             "body": f"{client_id} {filler}"}))
        except ConnectionClosed:
            current.errors["socket closed"] = current.errors.get("socket closed", 0) + 1
            current.pending.pop(client_id, None)
            current.unacked.discard(client_id)
    send_elapsed = time.perf_counter() - first_send
    current.all_sent = True
    current.check_done()
    try:
        await asyncio.wait_for(current.done.wait(), timeout=drain)
    except asyncio.TimeoutError:
        pass
    state["round"] = None
    received = len(current.latencies)
    deliver_elapsed = (current.last_receive - first_send) if received else 0
    lat = current.latencies
    return {
        "rate": rate, "pairs": n_pairs, "sent": total,
        "sent_rate": total / send_elapsed if send_elapsed > 0 else float(total),
        "recv_rate": received / deliver_elapsed if deliver_elapsed > 0 else 0.0,
        "p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
        "max": max(lat) if lat else 0.0, "lost": len(current.pending), "errors": dict(current.errors),
        "unacked": len(current.unacked) if acks else None,
    }


HEADER = (f"{'target/s':>8} {'pairs':>5} {'sent/s':>7} {'recv/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'lost':>5} {'unacked':>7}  errors")


def format_row(r) -> str:
    errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "-"
    return (f"{r['rate']:>8g} {r['pairs']:>5} {r['sent_rate']:>7.1f} {r['recv_rate']:>7.1f} {r['p50'] * 1e3:>8.1f} "
            f"{r['p95'] * 1e3:>8.1f} {r['p99'] * 1e3:>8.1f} {r['max'] * 1e3:>8.1f} {r['lost']:>5} "
            f"{'-' if r['unacked'] is None else r['unacked']:>7}  {errors}")


async def measure(label, pairs, args, *, warmup_rate, acks):
    """Warm up, then every rate in turn; stops escalating once a step loses messages (a backlog
    would spill into the next step) unless --keep-going."""
    state = {"round": None, "closed": []}
    for a, b in pairs:
        for peer in (a, b):
            peer.reader = asyncio.create_task(read_frames(peer, state))
    run = uuid.uuid4().hex[:8]
    print(f"\n{label}")
    print(HEADER)
    await run_step(pairs, state, rate=warmup_rate, duration=1.0, per_connection=args.per_connection_rate,
                   drain=args.drain, size=args.size, tag=f"{run}-warm", acks=acks)
    results = []
    for rate in args.rates:
        r = await run_step(pairs, state, rate=rate, duration=args.duration, per_connection=args.per_connection_rate,
                           drain=args.drain, size=args.size, tag=f"{run}-{rate:g}", acks=acks)
        results.append(r)
        print(format_row(r), flush=True)
        for note in state["closed"]:
            print(f"  socket closed: {note}")
        state["closed"].clear()
        if r["lost"] and not args.keep_going and rate != args.rates[-1]:
            print(f"  stopped: messages lost at {rate:g}/s (saturated); --keep-going runs the higher rates anyway")
            break
    await close_pairs(pairs)
    return results


async def close_pairs(pairs):
    peers = [p for pair in pairs for p in pair]
    await asyncio.gather(*(p.ws.close() for p in peers), return_exceptions=True)
    for p in peers:
        if p.reader is not None:
            p.reader.cancel()
    await asyncio.gather(*(p.reader for p in peers if p.reader is not None), return_exceptions=True)


def parse_rates(text: str) -> list[float]:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("rates are numbers separated by commas, e.g. 10,50,100") from None
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError("give at least one rate, each above 0")
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=parse_rates, default=parse_rates("10,50,100,200,500"),
                        help="target total message rates per second, comma-separated (default 10,50,100,200,500)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of sending per rate (default 5)")
    parser.add_argument("--drain", type=float, default=10.0,
                        help="seconds to wait after the last send for messages still in flight (default 10)")
    parser.add_argument("--size", type=int, default=100, help="approximate message body length (default 100)")
    parser.add_argument("--per-connection-rate", type=float, default=None,
                        help="messages per second one socket sends (default: 80%% of the chat consumer's limit)")
    parser.add_argument("--history", type=int, default=0,
                        help="first add this many older messages (read by both sides) over the chats, e.g. "
                             "300000: what a message costs once conversations have a history (default 0)")
    parser.add_argument("--keep-going", action="store_true", help="run every rate even after losses")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw websocket relay")
    parser.add_argument("--url", help="attach to a running Haven server (http://host:port) instead of starting "
                                      "daphne; DATABASE_URL and the signing key must be that server's")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.duration <= 0 or args.drain < 0 or args.size < 1 or args.history < 0:
        parser.error("--duration must be above 0, --drain at least 0, --size at least 1, --history at least 0")
    args.rates = sorted(args.rates)

    raise_nofile()
    info = prepare(args, attach=bool(args.url))
    patient_chats, server, relay = [], None, None
    try:
        from telehealth.consumers import RATE_MESSAGES, RATE_WINDOW

        if args.per_connection_rate is None:
            args.per_connection_rate = 0.8 * RATE_MESSAGES / RATE_WINDOW
        if args.per_connection_rate * RATE_WINDOW >= RATE_MESSAGES:
            print(f"note: --per-connection-rate {args.per_connection_rate:g}/s reaches the consumer's limit of "
                  f"{RATE_MESSAGES} per {RATE_WINDOW:g}s: expect rate_limited errors")
        n_pairs = math.ceil(max(args.rates) / args.per_connection_rate / 2)
        doctor, patient_chats = seed(n_pairs)
        if args.history:
            t0 = time.perf_counter()
            seed_history(doctor, patient_chats, args.history)
            print(f"history: {args.history} older messages written in {time.perf_counter() - t0:.1f}s")
        doctor_token = access_token(doctor)
        sockets = [((f"/ws/chats/{chat.pk}/?token={access_token(user)}", f"patient {i}"),
                    (f"/ws/chats/{chat.pk}/?token={doctor_token}", f"doctor in chat {i}"))
                   for i, (user, chat) in enumerate(patient_chats)]
        close_db()

        if args.url:
            base = args.url.rstrip("/")
            described = f"attached to {base} (its own settings)"
        else:
            server = Daphne(info["tmp"])
            base = server.base
            described = f"one daphne process (pid {server.pid}), {server.health}"
        for line in machine_info(server=described, attached=bool(args.url)):
            print(line)
        print(f"{n_pairs} chats (patient + doctor sockets, {2 * n_pairs} connections); "
              f"each socket sends at most {args.per_connection_rate:g} msg/s; {args.duration:g}s per rate; "
              f"body ~{args.size} chars")
        origin = base
        wsb = ws_base(base)

        async def haven():
            pairs = await open_pairs([((wsb + a, la), (wsb + b, lb)) for (a, la), (b, lb) in sockets], origin,
                                     server=server)
            return await measure("Haven chat (/ws/chats/<id>/: stored, then broadcast over the channel layer)",
                                 pairs, args, warmup_rate=min(args.rates[0], 20), acks=True)

        asyncio.run(haven())
        if server is not None and not server.alive():
            print("daphne exited during the run:\n" + server.log_tail())
        elif server is not None:
            problems = server.log_problems()
            print("server log: " + ("no errors or warnings" if not problems else f"{len(problems)} kind(s) of problem"))
            for line in problems[:10]:
                print(f"  {line}")
        if not args.no_baseline:
            relay = Relay(info["tmp"])
            rb = ws_base(relay.base)

            async def baseline():
                pairs = await open_pairs([((f"{rb}/pair/{i}", f"a{i}"), (f"{rb}/pair/{i}", f"b{i}"))
                                          for i in range(n_pairs)], relay.base, server=relay)
                return await measure("Baseline: raw websocket relay (websockets package, no Django, same pairs)",
                                     pairs, args, warmup_rate=min(args.rates[0], 20), acks=False)

            asyncio.run(baseline())
        print("\n" + load_line())
    finally:
        for proc in (relay, server):
            if proc is not None:
                proc.stop()
        if not args.url and patient_chats:
            cleanup_redis(chat_ids=[c.pk for _u, c in patient_chats])
        close_db()
        remove_temp(info)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
