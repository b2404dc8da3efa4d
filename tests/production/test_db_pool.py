"""The ASGI server keeps its Postgres connections bounded: under concurrent load a process never
holds more than its pool's max_size, and once idle it goes back down to min_size.

Before the pool (CONN_MAX_AGE=60) every request thread of the ASGI server kept a connection of its
own open after the request: idle, the count grew from 2 to 39, and a short load test exhausted
Postgres' 100. This test runs the real server (daphne, config.asgi) on the test database, sends
200 signed-in requests 50 at a time, and counts that server's backends in pg_stat_activity.
"""

import concurrent.futures
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from conftest import login_verified, require_service
from tests.browser.conftest import _database_url, _free_port

ROOT = Path(__file__).resolve().parents[2]
POOL_MIN, POOL_MAX = 2, 5
REQUESTS, CONCURRENCY = 200, 50

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def _backends(app_name):
    """Server connections to this test's database (test_<name>[_gwN]), told apart from this
    process's own by their application_name."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                       [connection.settings_dict["NAME"], app_name])
        return cursor.fetchone()[0]


@pytest.fixture
def server(tmp_path):
    require_service(connection.vendor == "postgresql", "Postgres (DATABASE_URL)")
    port = _free_port()
    app_name = f"haven-pool-test-{os.getpid()}-{port}"
    env = {**os.environ, "DATABASE_URL": _database_url(tmp_path), "PGAPPNAME": app_name,
           "DATABASE_POOL_MIN_SIZE": str(POOL_MIN), "DATABASE_POOL_MAX_SIZE": str(POOL_MAX),
           # shrink fast, so the test sees the idle pool come back to min_size within seconds
           "DATABASE_POOL_MAX_IDLE": "1", "DATABASE_POOL_TIMEOUT": "20",
           "DJANGO_SECRET_KEY": settings.SECRET_KEY, "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
           "HAVEN_PRODUCTION": "false", "DJANGO_DEBUG": "false", "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "daphne.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                    "config.asgi:application"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(base + "/favicon.ico", timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                assert time.monotonic() < deadline, "daphne did not start:\n" + log_path.read_text()
                time.sleep(0.2)
        yield {"base": base, "app_name": app_name, "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_connections_stay_bounded_by_the_pool_under_load_and_shrink_when_idle(server, alice):
    from django.test import Client

    web = login_verified(Client(), alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={web.cookies[settings.SESSION_COOKIE_NAME].value}"
    url = server["base"] + "/notifications/"  # signed in: the session and the page read the database

    def fetch(_):
        request = urllib.request.Request(url, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status

    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        from django.db import connections

        try:
            while not stop.is_set():
                peak = max(peak, _backends(server["app_name"]))
                time.sleep(0.05)
        finally:
            connections.close_all()

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            statuses = list(pool.map(fetch, range(REQUESTS)))
    finally:
        stop.set()
        sampler.join()
    elapsed = time.monotonic() - started

    assert statuses == [200] * REQUESTS, server["log"].read_text()[-3000:]
    assert peak >= 1, "the sampler never saw the server's connections"
    assert peak <= POOL_MAX, f"{peak} connections under load, pool max is {POOL_MAX}"
    assert _backends(server["app_name"]) <= POOL_MAX

    # Idle: the pool closes what it no longer needs, down to min_size (never the 39 of before).
    deadline = time.monotonic() + 10
    while (idle := _backends(server["app_name"])) > POOL_MIN and time.monotonic() < deadline:
        time.sleep(0.25)
    assert idle <= POOL_MIN, f"{idle} connections left open while idle"
    print(f"{REQUESTS} requests in {elapsed:.1f}s, peak {peak} connections, idle {idle}")
