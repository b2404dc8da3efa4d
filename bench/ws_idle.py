"""Idle websocket connections one ASGI process holds, and its memory per connection.

    .venv/bin/python bench/ws_idle.py                          # notifications sockets, up to 5,000
    .venv/bin/python bench/ws_idle.py --max 15000 --kind chats
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_ws_bench .venv/bin/python bench/ws_idle.py

Starts one daphne process (config.asgi, channels_redis on Redis by default) on a migrated
database seeded with one account per connection, then opens authenticated sockets in steps
(100, 500, 1000, 2000, 5000, ... up to --max): /ws/notifications/ (default) or each patient's
/ws/chats/<id>/, JWT in ?token=, Origin set. A socket counts once the server has sent its first
frame (the unread count, or the chat's presence), so it is authenticated and joined to its group.
After each step it prints the sockets held, the server's resident memory (VmRSS from /proc) and
memory per connection over the baseline, the server's open files, and the client's own memory.
It stops at the first step where connections fail, and says why (file-descriptor limit, refused,
timeout, closed by the server). The open-file limits of the client and of the server are raised
to the hard limit first.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path

from websockets.protocol import State

from _ws import (
    Daphne,
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
    ws_base,
)

DEFAULT_STEPS = "100,500,1000,2000,5000,10000,15000,20000"


def self_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Ramp:
    def __init__(self, server: Daphne, urls: list[str], origin: str, *, concurrency: int, timeout: float):
        self.server, self.urls, self.origin = server, urls, origin
        self.concurrency, self.timeout = concurrency, timeout
        self.sockets = []
        self.failures: list[str] = []

    async def open_one(self, url: str):
        ws = None
        try:
            ws = await connect(url, self.origin, timeout=self.timeout)
            await asyncio.wait_for(ws.recv(), timeout=self.timeout)  # authenticated and joined
            self.sockets.append(ws)
        except Exception as exc:  # noqa: BLE001 — every failure is reported with its reason
            self.failures.append(failure_reason(exc, self.server))
            if ws is not None:
                ws.transport.abort()

    async def grow_to(self, target: int) -> float:
        """Open sockets until ``target`` are held or one fails; returns the seconds it took."""
        queue = iter(self.urls[len(self.sockets):target])
        t0 = time.perf_counter()

        async def worker():
            for url in queue:  # a shared iterator: each URL is taken by one worker
                if self.failures:
                    return
                await self.open_one(url)

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return time.perf_counter() - t0

    def held(self) -> int:
        return sum(1 for ws in self.sockets if ws.state is State.OPEN)

    async def close_all(self):
        semaphore = asyncio.Semaphore(200)

        async def close(ws):
            async with semaphore:
                try:
                    await asyncio.wait_for(ws.close(), timeout=5)
                except Exception:  # noqa: BLE001 — closing anyway
                    ws.transport.abort()

        await asyncio.gather(*(close(ws) for ws in self.sockets))
        self.sockets.clear()


async def wait_for_server_release(server: Daphne, timeout: float) -> bool:
    """Wait until the server holds no client connection any more (its disconnect handlers ran)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.tcp_connections(server.port)[0] == 0:
            return True
        await asyncio.sleep(0.2)
    return False


HEADER = (f"{'step':>6} {'held':>6} {'open s':>7} {'conn/s':>7} {'server RSS MiB':>14} {'+MiB':>7} "
          f"{'KiB/conn':>8} {'fds':>6} {'upstream':>8} {'client RSS MiB':>14}")


async def run(args, server: Daphne, urls: list[str], steps: list[int]):
    origin = server.base
    ramp = Ramp(server, urls, origin, concurrency=args.concurrency, timeout=args.timeout)
    # Baseline after a few sockets have come and gone, so code loaded on first use is counted in
    # the baseline rather than spread over the first step.
    warm = Ramp(server, urls[:10], origin, concurrency=10, timeout=args.timeout)
    await warm.grow_to(10)
    if warm.failures:
        raise SystemExit(f"could not open a first socket: {warm.failures[0]}\n{server.log_tail()}")
    await warm.close_all()
    await wait_for_server_release(server, timeout=10)
    await asyncio.sleep(args.settle)
    base_rss, base_client = server.rss_kb(), self_rss_kb()
    print(f"baseline: server RSS {base_rss / 1024:.1f} MiB, {server.open_fds()} open files "
          f"(limit {server.fd_limit()}); client RSS {base_client / 1024:.1f} MiB")
    print("(fds: the server's open files; upstream: its connections to Redis and the database)\n")
    print(HEADER)
    stopped = None
    for step in steps:
        before = len(ramp.sockets)
        elapsed = await ramp.grow_to(step)
        await asyncio.sleep(args.settle)  # let the server finish the handshakes' leftovers
        held = ramp.held()
        rss = server.rss_kb()
        per_conn = (rss - base_rss) / held if held else 0.0
        opened = len(ramp.sockets) - before
        upstream = server.tcp_connections(server.port)[1]
        print(f"{step:>6} {held:>6} {elapsed:>7.1f} {opened / elapsed if elapsed else 0:>7.0f} {rss / 1024:>14.1f} "
              f"{(rss - base_rss) / 1024:>7.1f} {per_conn:>8.1f} {server.open_fds():>6} {upstream:>8} "
              f"{self_rss_kb() / 1024:>14.1f}", flush=True)
        if ramp.failures:
            reasons = {}
            for reason in ramp.failures:
                reasons[reason] = reasons.get(reason, 0) + 1
            summary = "; ".join(f"{n} x {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
            stopped = f"stopped at step {step}: {len(ramp.failures)} connection(s) failed: {summary}"
            break
        if held < len(ramp.sockets):
            codes = sorted({str(ws.close_code) for ws in ramp.sockets if ws.state is not State.OPEN})
            stopped = (f"stopped at step {step}: {len(ramp.sockets) - held} socket(s) closed while idle "
                       f"(close codes {', '.join(codes)})")
            break
        if not server.alive():
            stopped = f"stopped at step {step}: the server exited\n{server.log_tail()}"
            break
    print()
    print(stopped or f"all steps held (up to {steps[-1]}); --max raises the ceiling")
    print(load_line())
    t0 = time.perf_counter()
    await ramp.close_all()
    released = await wait_for_server_release(server, timeout=60)
    print(f"closed every socket in {time.perf_counter() - t0:.1f}s"
          + ("" if released else " (the server still held some when it was stopped)")
          + f"; the server then had {server.tcp_connections(server.port)[1]} connections to Redis and the database")
    problems = server.log_problems()
    print("server log: " + ("no errors or warnings" if not problems else f"{len(problems)} kind(s) of problem"))
    for line in problems[:10]:
        print(f"  {line}")


def parse_steps(text: str) -> list[int]:
    try:
        steps = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError("steps are whole numbers separated by commas") from None
    if not steps or steps[0] < 1:
        raise argparse.ArgumentTypeError("give at least one step, each at least 1")
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", type=int, default=5000, help="most connections to try (default 5000)")
    parser.add_argument("--steps", type=parse_steps, default=parse_steps(DEFAULT_STEPS),
                        help=f"connection counts to stop at and measure, up to --max (default {DEFAULT_STEPS})")
    parser.add_argument("--kind", choices=["notifications", "chats"], default="notifications",
                        help="/ws/notifications/ (default) or each patient's /ws/chats/<id>/")
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes in flight at once (default 50)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds for one handshake and its first frame (default 30)")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds to wait after each step before reading memory (default 1)")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.max < 1 or args.concurrency < 1 or args.timeout <= 0 or args.settle < 0:
        parser.error("--max and --concurrency must be at least 1, --timeout above 0, --settle at least 0")
    steps = [s for s in args.steps if s < args.max] + [args.max]

    soft, hard = raise_nofile()
    info = prepare(args)
    patient_chats, server = [], None
    try:
        t0 = time.perf_counter()
        _doctor, patient_chats = seed(args.max)
        if args.kind == "notifications":
            paths = [f"/ws/notifications/?token={access_token(user)}" for user, _chat in patient_chats]
        else:
            paths = [f"/ws/chats/{chat.pk}/?token={access_token(user)}" for user, chat in patient_chats]
        print(f"seeded {len(patient_chats)} accounts and tokens in {time.perf_counter() - t0:.1f}s")
        close_db()
        server = Daphne(info["tmp"])
        for line in machine_info(server=f"one daphne process (pid {server.pid}), {server.health}"):
            print(line)
        print(f"sockets: /ws/{args.kind}/, one account each, JWT in ?token=; "
              f"client open-file limit {soft} (hard {hard}); {args.concurrency} handshakes at once")
        base = ws_base(server.base)
        asyncio.run(run(args, server, [base + p for p in paths], steps))
    finally:
        if server is not None:
            server.stop()
        if patient_chats:
            cleanup_redis(chat_ids=[c.pk for _u, c in patient_chats], user_ids=[u.pk for u, _c in patient_chats])
        close_db()
        remove_temp(info)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
