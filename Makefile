# Two commands matter (see README): `make run` and `make test`. Both work on a fresh Debian
# machine with Python 3.11+: they create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# System packages the browser, slip and audio tests use (Debian names; no browser downloads).
DEBS := chromium poppler-utils espeak-ng fonts-dejavu-core fonts-noto-core

.PHONY: run test venv test-venv system-deps bench bench-load bench-index check clean messages screenshots

# One .venv, two markers: `make run` installs the runtime dependencies only; `make test` adds the
# test extras (pytest, schemathesis, axe…) to the same .venv. Each marker is redone when
# pyproject.toml changes.
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.runtime $@

venv: $(VENV)/.runtime

test-venv: $(VENV)/.test

run: venv
	$(BIN)/orientation serve

system-deps:
	@missing=""; \
	for pkg in $(DEBS); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: test-venv system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Regenerate docs/screenshots/*.png (the browser tests; a plain `make test` writes them to tmp).
screenshots: test-venv system-deps
	ORIENTATION_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests/test_kiosk_browser.py tests/test_staff_browser.py

bench: venv
	$(BIN)/python -m bench.search

check: venv
	$(BIN)/orientation check

# Kiosk languages: re-extract the French source strings, update every catalogue, compile the .mo
# files (committed, so a fresh clone runs without this step).
messages: venv
	$(BIN)/pybabel extract -F kiosk/babel.cfg -k _n:1,2 -k _ --no-wrap --sort-output --omit-header --no-location -o kiosk/locale/messages.pot .
	$(BIN)/pybabel update -i kiosk/locale/messages.pot -d kiosk/locale -D messages --no-wrap --no-fuzzy-matching
	$(BIN)/pybabel compile -d kiosk/locale -D messages --statistics

clean:
	rm -rf $(VENV) data build *.egg-info

# Load on a real server (bench/load.py): wrk per page with 1 and 2 workers. Short by default;
# LOAD_ARGS="--seconds 8 --large 10000" for the 10k-service rows too.
LOAD_ARGS ?=
bench-load: venv
	@command -v wrk >/dev/null 2>&1 || $(MAKE) --no-print-directory system-deps DEBS=wrk
	$(BIN)/python -m bench.load $(LOAD_ARGS)

# The search index at scale (bench/index_scale.py): build, start-up, worker RSS, a single write
# until visible, uncached search against FTS5. 10k services by default;
# SERVICES=10000,100000 for the 100k row too (several minutes).
SERVICES ?= 10000
bench-index: venv
	$(BIN)/python -m bench.index_scale --services $(SERVICES)
