"""Django setup for the bench scripts: run from the project root with DATABASE_URL set to a
separate bench database (never the development or production one)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(require_bench_db: bool = True):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    url = os.environ.get("DATABASE_URL", "")
    if require_bench_db and "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("Set DATABASE_URL to a bench database whose name contains 'bench', e.g.\n"
                 "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench")
    import django

    django.setup()


def percentile(values, p):
    values = sorted(values)
    if not values:
        return 0.0
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)
