"""Smoke test of the websocket benchmarks: they import and explain themselves. The benchmarks
themselves are run by hand (bench/README.md); speed is measured there, not asserted here."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script, options", [
    ("bench/ws_latency.py", ["--rates", "--duration", "--history", "--url", "--layer", "--redis"]),
    ("bench/ws_idle.py", ["--max", "--steps", "--kind", "--concurrency", "--layer", "--redis"]),
])
def test_it_prints_its_help(script, options):
    result = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ")
    for option in options:
        assert option in result.stdout


def test_it_rejects_bad_rates():
    result = subprocess.run([sys.executable, "bench/ws_latency.py", "--rates", "10,fast"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "rates are numbers" in result.stderr
