# The two commands a newcomer needs: `make run` (the demo) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

CATALOG := translations/es/LC_MESSAGES/messages
.PHONY: run test install clean translations

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) $(CATALOG).mo

# The compiled catalog (not committed): rebuilt whenever the Spanish .po changes.
$(CATALOG).mo: $(CATALOG).po $(STAMP)
	$(VENV)/bin/pybabel compile --statistics -d translations 2>&1 | tail -1

## After changing marked strings: extract them and merge them into the Spanish catalog (then translate).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project=Maestra --msgid-bugs-address=dev@maestra.invalid -o translations/messages.pot . 2>/dev/null
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -i translations/messages.pot -d translations

## Demo on SQLite and the local Meta sandbox: migrate, seed, start, print the logins.
run: $(STAMP) $(CATALOG).mo
	PORTAL_ENV=demo $(PY) -m portal.demo

## The whole test suite (DATABASE_URL=postgresql://... runs it on PostgreSQL).
test: $(STAMP) $(CATALOG).mo
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
