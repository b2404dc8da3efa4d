"""Production settings pass Django's deployment checklist, and refuse to start half-configured."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "HAVEN_PRODUCTION": "true",
    "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d6c5b4a",
    "FIELD_ENCRYPTION_KEYS": "q5E2xM8kHc0bD6jD3Yt4u7hT1zP2o9wVbXn8rS0aL3c=",
    "DJANGO_ALLOWED_HOSTS": "haven.example.org",
    "DATABASE_URL": "postgres://haven:haven@db.invalid:5432/haven",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}


def run_manage(*args, env_overrides, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in PRODUCTION_ENV and k not in ("CI", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(env_overrides, HAVEN_VAR_DIR=str(tmp_path))
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secrets(tmp_path):
    for missing in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = run_manage("check", env_overrides=env, tmp_path=tmp_path)
        assert result.returncode != 0
        assert missing in result.stderr


def test_embedded_mode_is_not_deploy_ready(tmp_path):
    """Sanity: the same check does flag the embedded defaults (so the first test can fail)."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides={}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "security.W" in result.stdout + result.stderr


def test_the_site_has_an_icon(client):
    """Pages link the icon and /favicon.ico (asked for by pages without the link) leads to it."""
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
    assert finders.find("img/favicon.svg")
    assert 'rel="icon"' in client.get("/accounts/login/").content.decode()
