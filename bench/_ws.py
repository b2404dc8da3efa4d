"""Shared pieces of the websocket benchmarks (ws_latency.py, ws_idle.py).

- ``prepare()``: the environment both the script and the server see (a throwaway SQLite file in a
  temporary directory, or the Postgres bench database given in DATABASE_URL; Redis or the
  in-memory channel layer), then Django set up and the database migrated.
- ``seed()``: one doctor, patients with their own accounts, one chat per patient with the doctor.
- ``Daphne``: the real ASGI server in a subprocess, with its open-file limit raised.
- ``Relay``: a raw websocket relay (the ``websockets`` package, no Django) for baselines; it runs
  as ``python bench/_ws.py relay --port N`` in its own process, like daphne.
- ``machine_info()``, ``connect()``, ``raise_nofile()``, ``cleanup_redis()``.
"""

import argparse
import asyncio
import errno
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench-ws-"  # e-mail prefix of the accounts these scripts create (and reuse)
# A Redis database of its own: the test suite's cache.clear() flushes the database it uses (0 and
# 1..n for parallel workers), which would drop the running server's group memberships mid-run.
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


# --- process limits --------------------------------------------------------------------------------

def raise_nofile() -> tuple[int, int]:
    """Raise this process's soft open-file limit to the hard limit; returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _preexec_raise_nofile():  # runs in the child between fork and exec
    raise_nofile()


# --- environment, database, seed --------------------------------------------------------------------

def add_common_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("--layer", choices=["redis", "memory"], default="redis",
                        help="channel layer (and cache) of the server it starts: channels_redis on --redis, "
                             "or the in-memory layer (one process only)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, metavar="URL",
                        help=f"Redis for --layer redis, given to the server as REDIS_URL (default {DEFAULT_REDIS}: "
                             "not a database the test suite flushes)")
    parser.add_argument("--settings", metavar="MODULE",
                        help="settings module for the server and the script (default config.settings); e.g. one "
                             "that imports config.settings and changes CHANNEL_LAYERS, to measure a change first "
                             "(it must be importable: put its folder on PYTHONPATH)")
    parser.add_argument("--keep-temp", action="store_true",
                        help="keep the temporary directory (SQLite file, server log) for inspection")


def prepare(args, *, attach: bool = False) -> dict:
    """Set the environment for this process and the server it starts, set Django up and migrate.

    Database: DATABASE_URL if set (its name must contain 'bench'; a Postgres one is created if
    missing), else a SQLite file in a new temporary directory. Returns a description dict with
    the temporary directory to remove at the end."""
    tmp = Path(tempfile.mkdtemp(prefix="haven-ws-bench-"))
    info = {"tmp": tmp, "keep_temp": args.keep_temp}
    # SIGTERM unwinds like Ctrl-C, so the callers' finally blocks stop the servers they started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.settings:
            os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        if not attach:
            # The server and this script sign and check the JWTs with the same key; a random one per
            # run, and var/ of the checkout stays untouched (the server writes its files to tmp).
            os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
            os.environ["HAVEN_VAR_DIR"] = str(tmp)
            os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
            os.environ["HAVEN_PRODUCTION"] = "false"
            os.environ["DJANGO_DEBUG"] = "false"
            # What a websocket request costs, not what a worker does later: notifications for offline
            # members are queued to an in-process broker and dropped (as bench/booking.py does), so
            # nothing is left queued in Redis.
            os.environ["CELERY_BROKER_URL"] = "memory://"
            os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
            if args.layer == "redis":
                os.environ["REDIS_URL"] = args.redis
                _require_redis(args.redis)
            else:
                os.environ["REDIS_URL"] = ""  # empty, not unset: a .env file cannot bring Redis back
        # Tokens are checked when a socket connects; long enough for the slowest ramp.
        os.environ["JWT_ACCESS_MINUTES"] = "240"
        if not os.environ.get("DATABASE_URL"):
            if attach:
                sys.exit("--url: set DATABASE_URL (and DJANGO_SECRET_KEY / JWT_SIGNING_KEY) to what that server "
                         "uses, so the script can seed its database and sign tokens it accepts.")
            os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'ws-bench.sqlite3'}"
        else:
            from generate import create_database

            create_database()
        from _setup import setup

        setup()  # refuses a database whose name does not contain "bench"
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def _require_redis(url: str):
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        sys.exit(f"Redis at {_safe_url(url)} is not reachable ({exc}); start it or pass --layer memory.")


def _safe_url(url: str) -> str:
    u = urlparse(url)
    return f"{u.scheme}://{u.hostname}:{u.port or ''}{u.path}"


def remove_temp(info: dict):
    if info.get("keep_temp"):
        print(f"kept {info['tmp']}")
    else:
        shutil.rmtree(info["tmp"], ignore_errors=True)


def seed(n_patients: int):
    """One approved doctor and ``n_patients`` patients (own accounts), each with a chat with the
    doctor. Reuses what an earlier run created. Returns (doctor_user, [(patient_user, chat), ...])."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from accounts.models import ApplicationStatus, DoctorApplication, Role, User
    from clinic.models import DoctorProfile, Patient, Relation, UserPatientRelation
    from telehealth.models import Chat

    password = "!" + secrets.token_hex(16)  # unusable: nobody signs in with these accounts
    with transaction.atomic():
        doctor_user, created = User.objects.get_or_create(
            email=f"{PREFIX}doctor@example.com",
            defaults={"name": "Bench Doctor", "role": Role.DOCTOR, "password": password})
        if created:
            DoctorApplication.objects.create(
                user=doctor_user, specialty="Psychiatry", years_experience=5, cv_text="bench",
                identity_proof="identity/bench.pdf", identity_proof_type="application/pdf",
                status=ApplicationStatus.APPROVED, decided_at=timezone.now())
            DoctorProfile.objects.create(user=doctor_user, specialty="Psychiatry", years_experience=5)
        doctor = doctor_user.doctor_profile
        have = User.objects.filter(email__startswith=f"{PREFIX}patient").count()
        new_users = [User(email=f"{PREFIX}patient{i:06d}@example.com", name=f"Bench Patient {i}",
                          role=Role.PATIENT, password=password) for i in range(have, n_patients)]
        User.objects.bulk_create(new_users, batch_size=2000)
        new_patients = [Patient(user=u, name=u.name, date_of_birth=dt.date(1990, 1, 1), gender="undisclosed")
                        for u in new_users]
        Patient.objects.bulk_create(new_patients, batch_size=2000)
        UserPatientRelation.objects.bulk_create(
            [UserPatientRelation(user=u, patient=p, relation=Relation.SELF)
             for u, p in zip(new_users, new_patients, strict=True)], batch_size=2000)
        Chat.objects.bulk_create([Chat(patient=p, doctor=doctor) for p in new_patients], batch_size=2000)
    analyze([User, Patient, UserPatientRelation, Chat])
    users = list(User.objects.filter(email__startswith=f"{PREFIX}patient").order_by("email")
                 .select_related("patient_record")[:n_patients])
    chats = {c.patient_id: c for c in Chat.objects.filter(doctor=doctor, patient__user__in=users)}
    return doctor_user, [(u, chats[u.patient_record.pk]) for u in users]


def seed_history(doctor_user, patient_chats, total: int) -> int:
    """Add ``total`` messages, already read by both sides, spread over the chats: the history a
    busy doctor's conversations carry. Returns how many were written."""
    import uuid

    from django.db import transaction

    from telehealth.models import Chat, ChatReadState, Message

    if total <= 0 or not patient_chats:
        return 0
    per_chat, extra = divmod(total, len(patient_chats))
    run = uuid.uuid4().hex[:8]
    rows, written = [], 0
    with transaction.atomic():
        for i, (user, chat) in enumerate(patient_chats):
            n = per_chat + (1 if i < extra else 0)
            start = Chat.objects.values_list("last_seq", flat=True).get(pk=chat.pk)
            for k in range(1, n + 1):
                by_patient = k % 2 == 1
                rows.append(Message(chat=chat, seq=start + k, sender=user if by_patient else doctor_user,
                                    sender_role=Message.SenderRole.PATIENT if by_patient else Message.SenderRole.DOCTOR,
                                    client_id=f"history-{run}-{k}", kind=Message.Kind.TEXT,
                                    body=f"Earlier message {k} of this conversation."))
            if len(rows) >= 5000:
                Message.objects.bulk_create(rows, batch_size=5000)
                written, rows = written + len(rows), []
            Chat.objects.filter(pk=chat.pk).update(last_seq=start + n)
            for member in (user, doctor_user):
                ChatReadState.objects.update_or_create(chat=chat, user=member, defaults={"last_read_seq": start + n})
        Message.objects.bulk_create(rows, batch_size=5000)
    analyze([Message, Chat, ChatReadState])
    return written + len(rows)


def analyze(models):
    """Postgres: refresh the planner's statistics of the tables just bulk-filled. Without them (a
    server with autovacuum off, or a run that starts before autovacuum gets to the tables) the
    planner sees the tables as they were before the seed and picks plans no production database
    would (a sequential scan of every chat for one patient's unread count)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def access_token(user) -> str:
    """A JWT access token, as POST /api/v1/auth/login hands out."""
    from accounts.tokens import issue_pair

    return issue_pair(user)["access"]


def close_db():
    from django.db import connections

    connections.close_all()


def cleanup_redis(*, chat_ids=(), user_ids=()):
    """Remove what the runs leave in Redis for the accounts they used: presence entries (kept for
    hours by design) and any channel-layer group a killed server could not discard."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return
    from telehealth import chat as chats
    from telehealth import presence
    from telehealth.consumers_notifications import notification_group

    import redis

    chat_ids, user_ids = list(chat_ids), list(user_ids)
    # Presence goes through telehealth.presence's own Redis client (not the cache API), under its
    # own key prefix, in the same Redis database as the cache (REDIS_URL).
    keys = ([presence._redis_key(chats._presence_key(c)) for c in chat_ids]
            + [f"asgi:group:{g}" for g in [chats.group_name(c) for c in chat_ids]
               + [notification_group(u) for u in user_ids]])
    client = redis.Redis.from_url(url)
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i:i + 1000])
    client.close()


# --- machine info --------------------------------------------------------------------------------

def machine_info(*, server: str, attached: bool = False) -> list[str]:
    from importlib.metadata import version

    from django.db import connection

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    lines = [f"machine: {os.cpu_count()} CPUs{f' ({cpu})' if cpu else ''}{mem}, {platform.system()} "
             f"{platform.release()}",
             f"python {platform.python_version()}; daphne {version('daphne')}, channels {version('channels')}, "
             f"channels-redis {version('channels-redis')}, websockets {version('websockets')}"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            db = f"PostgreSQL {cursor.fetchone()[0]} ({connection.settings_dict['NAME']})"
        else:
            cursor.execute("SELECT sqlite_version()")
            db = f"SQLite {cursor.fetchone()[0]} (temporary file)"
    close_db()
    url = os.environ.get("REDIS_URL")
    if attached:
        layer = "the attached server's own"
    elif url:
        import redis

        client = redis.Redis.from_url(url)
        layer = f"channels_redis on Redis {client.info('server')['redis_version']} at {_safe_url(url)}"
        client.close()
    else:
        layer = "in-memory channel layer (single process)"
    lines.append(f"database: {db}; channel layer: {layer}")
    lines.append(f"server: {server}; settings {os.environ.get('DJANGO_SETTINGS_MODULE')}")
    lines.append(load_line())
    return lines


def load_line() -> str:
    """Other work on the machine skews every figure: say how busy it was."""
    one, five, _fifteen = os.getloadavg()
    return f"load average: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# --- servers -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Subprocess:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    name = "server"

    def __init__(self, argv, log_path: Path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, preexec_fn=_preexec_raise_nofile)
        self.pid = self.process.pid

    def log_tail(self, lines=30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_problems(self) -> list[str]:
        """Errors and warnings the server logged, counted by message: '3 x ERROR daphne.server ...'."""
        counts: dict[str, int] = {}
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        for line in lines:
            for level in (" ERROR ", " WARNING "):
                if level in line:
                    # numbers (task names, addresses) vary from line to line: group them as one kind
                    text = re.sub(r"0x[0-9a-f]+|\d+", "N", line.split(level, 1)[1].strip())
                    key = f"{level.strip()} {text[:160]}"
                    counts[key] = counts.get(key, 0) + 1
        return [f"{n} x {key}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1])]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    # /proc readings (Linux)
    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def tcp_connections(self, port: int) -> tuple[int, int]:
        """The process's established TCP connections: (accepted on ``port``, all others: Redis,
        the database...), from /proc/net/tcp{,6} matched to its file descriptors."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                link = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        accepted = other = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                if fields[3] != "01" or fields[9] not in inodes:  # 01: ESTABLISHED
                    continue
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    accepted += 1
                else:
                    other += 1
        return accepted, other

    def fd_limit(self) -> int:
        for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return int(line.split()[3])
        return 0


class Daphne(_Subprocess):
    name = "daphne"

    def __init__(self, tmp: Path):
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        super().__init__([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                          "config.asgi:application"], tmp / "daphne.log", env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        self.health = self._wait_ready()

    def _wait_ready(self, timeout=60.0) -> str:
        """Wait until the server answers /health; returns its verdict (200 or 503 naming what is down)."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise SystemExit("daphne exited:\n" + self.log_tail())
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as response:
                    return f"/health {response.status}"
            except urllib.error.HTTPError as exc:  # answered: up, but something is down
                return f"/health {exc.code}: {exc.read().decode(errors='replace')[:300]}"
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("daphne did not start:\n" + self.log_tail())
            time.sleep(0.2)


class Relay(_Subprocess):
    """``python bench/_ws.py relay``: every text frame goes to the other sockets on the same path."""

    name = "relay"

    def __init__(self, tmp: Path):
        self.port = free_port()
        super().__init__([sys.executable, str(Path(__file__)), "relay", "--port", str(self.port)],
                         tmp / "relay.log")
        deadline = time.monotonic() + 20
        while True:
            if not self.alive():
                raise SystemExit("relay exited:\n" + self.log_tail())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("relay did not start:\n" + self.log_tail()) from None
                time.sleep(0.1)
        self.base = f"http://127.0.0.1:{self.port}"


async def _relay_main(port: int):
    from websockets.asyncio.server import broadcast, serve

    rooms: dict[str, set] = {}

    async def handler(ws):
        room = rooms.setdefault(ws.request.path, set())
        room.add(ws)
        try:
            async for frame in ws:
                broadcast([other for other in room if other is not ws], frame)
        finally:
            room.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_size=64 * 1024):
        await asyncio.get_running_loop().create_future()


# --- clients -------------------------------------------------------------------------------------

def ws_base(http_base: str) -> str:
    return http_base.replace("https://", "wss://").replace("http://", "ws://").rstrip("/")


async def connect(url: str, origin: str, *, timeout: float = 30.0):
    """A client socket as a browser-less API client opens it: Origin set, no compression (daphne
    does not negotiate it, and the relay must not either), no client pings (idle means idle)."""
    from urllib.parse import parse_qs, urlsplit, urlunsplit

    from websockets.asyncio.client import connect as ws_connect

    # The scripts build URLs with ?token=<JWT>; the server takes a JWT only in a header (URLs are
    # logged), so move it there.
    parts = urlsplit(url)
    token = (parse_qs(parts.query).get("token") or [""])[0]
    headers = {}
    if token:
        url, headers = urlunsplit(parts._replace(query="")), {"Authorization": f"Bearer {token}"}
    return await ws_connect(url, origin=origin, compression=None, ping_interval=None, open_timeout=timeout,
                            close_timeout=5, max_size=1 << 20, proxy=None, user_agent_header=None,
                            additional_headers=headers or None)


def failure_reason(exc: BaseException, server: "_Subprocess | None" = None) -> str:
    """Say why a connection failed, in words: fd limit, refused, timeout, handshake status..."""
    from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus

    if server is not None and not server.alive():
        return f"the server exited (status {server.process.returncode})"
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return f"client out of file descriptors (RLIMIT_NOFILE {soft}): {exc.strerror}"
    if server is not None:
        try:
            if server.open_fds() >= server.fd_limit() - 5:
                return f"server at its open-file limit ({server.fd_limit()}): {exc!r}"
        except OSError:
            pass
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (listen backlog full or server not accepting)"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "timed out (handshake or first frame)"
    if isinstance(exc, InvalidStatus):
        if exc.response.status_code == 403:
            return ("handshake refused with HTTP 403 (the consumer refused it, or did not accept within "
                    "daphne's websocket connect timeout, 5 s by default)")
        return f"handshake refused with HTTP {exc.response.status_code}"
    if isinstance(exc, InvalidMessage):
        return "the server dropped the connection during the handshake"
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd else None
        return f"closed by the server (code {code})"
    return repr(exc)


def main():
    parser = argparse.ArgumentParser(description="Helpers of the websocket benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)
    relay = sub.add_parser("relay", help="run the raw websocket relay (baseline) on 127.0.0.1")
    relay.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.command == "relay":
        raise_nofile()
        try:
            asyncio.run(_relay_main(args.port))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
