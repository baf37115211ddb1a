# The two commands a newcomer needs: `make run` (the demo) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Demo on SQLite and the local Meta sandbox: migrate, seed, start, print the logins.
run: $(STAMP)
	PORTAL_ENV=demo $(PY) -m portal.demo

## The whole test suite (DATABASE_URL=postgresql://... runs it on PostgreSQL).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
