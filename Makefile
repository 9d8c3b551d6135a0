# The two commands of the README. Both build .venv from nothing on a fresh machine.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp

.PHONY: install test lint demo bench clean

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

test: lint
	$(VENV)/bin/pytest -q

demo: install
	@for ws in examples/*/; do \
	  echo "== $$ws"; \
	  $(VENV)/bin/sei-watch parse "$$ws" --set "param.example=$$(basename $$ws)" || exit $$?; \
	  $(VENV)/bin/sei-watch parse "$$ws" --json > /dev/null || exit $$?; \
	done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
