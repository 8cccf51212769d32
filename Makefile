# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
# pip reads pinned versions; quiet so CI logs stay readable.
PIP_FLAGS := --disable-pip-version-check -q

.PHONY: run test lint bench worker migrate check clean cluster-test

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask run --host 127.0.0.1 --port $${PORT:-5000}

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check nibog tests bench worker.py wsgi.py

check: $(VENV)/.installed
	$(BIN)/flask db check

worker: $(VENV)/.installed
	$(BIN)/python worker.py

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

# The production shape on this machine (deploy/cluster.sh: HAProxy, 2 web, 2 workers, PgBouncer,
# primary + streaming replica, Redis; Debian packages pgbouncer haproxy postgresql redis-server)
# and the booking race through it; the cluster is taken down whatever the outcome.
cluster-test: $(VENV)/.installed
	bash deploy/cluster.sh up
	$(BIN)/python deploy/cluster_test.py; rc=$$?; bash deploy/cluster.sh down; exit $$rc

clean:
	rm -rf $(VENV) instance/nibog.db
