# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
# pip reads pinned versions; quiet so CI logs stay readable.
PIP_FLAGS := --disable-pip-version-check -q

.PHONY: run test lint bench bench-all bench-load bench-admin worker migrate check clean translations extract-messages cluster-test fuzz lock audit mutate

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Installed from the lock: every package, transitive ones too, at its pinned version and with its
# hashes (pip refuses a file whose hash is not listed). requirements*.txt name what we use.
$(VENV)/.installed: $(BIN)/activate requirements-dev.lock
	$(BIN)/pip install $(PIP_FLAGS) --require-hashes -r requirements-dev.lock
	touch $@

# After changing requirements*.txt: resolve both locks again (pip-tools), hashes included.
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: $(VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile $(LOCK_FLAGS) -o requirements.lock requirements.txt
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile $(LOCK_FLAGS) -o requirements-dev.lock requirements-dev.txt

# Known vulnerabilities in the locked packages (pip-audit); skips, saying so, when the
# vulnerability service cannot be reached (.ci/audit.py).
audit: $(VENV)/.installed
	$(BIN)/python .ci/audit.py

# Compiled catalogues (.mo) are build output: made from the reviewed .po files on every run.
# Two catalogues, merged at run time: the site's (with the API and e-mails) and the dashboard's.
translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d translations/site
	$(BIN)/pybabel -q compile -d translations/admin

# After adding or changing visible strings: refresh the templates and every language's catalogue.
# Extraction runs from the root: the .cfg patterns (nibog/**.py, templates/**.html) are matched
# against paths relative to the input directory, so "nibog templates" as inputs matched nothing.
BABEL_SKIP := .* ._ tests bench migrations translations static test-artifacts instance
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs="$(BABEL_SKIP) admin" -o translations/site/messages.pot .
	$(BIN)/pybabel -q update -i translations/site/messages.pot -d translations/site
	$(BIN)/pybabel -q extract -F babel-admin.cfg -k _l -k lazy_gettext --ignore-dirs="$(BABEL_SKIP)" -o translations/admin/messages.pot .
	$(BIN)/pybabel -q update -i translations/admin/messages.pot -d translations/admin

run: $(VENV)/.installed translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask run --host 127.0.0.1 --port $${PORT:-5000}

# Two pytest-xdist workers by default (each with its own database and Redis database; see
# docs/testing.md). PYTEST_ARGS replaces the default: `make test PYTEST_ARGS="-n 0 -x"`.
PYTEST_ARGS ?= -n 2
test: $(VENV)/.installed translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Schemathesis with many more generated requests per operation than the suite's 8.
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest -q -s tests/security/test_fuzz_openapi.py

# Mutation testing of the seat and money core (not in CI: minutes per module, about an hour for
# all). MODULE=auth/otp runs one module; `python mutation/run.py --list` names them. Uses the
# test services of `make test` unless TEST_DATABASE_URL / TEST_REDIS_URL say otherwise;
# MUTATE_JOBS mutants at once (each on its own database and Redis number). docs/testing.md.
mutate: $(VENV)/.installed translations
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/nibog_test} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/python mutation/run.py $(MODULE)

lint: $(VENV)/.installed
	$(BIN)/ruff check nibog tests bench mutation worker.py wsgi.py
	PYTHONPATH=. $(BIN)/lint-imports

check: $(VENV)/.installed
	$(BIN)/flask db check

worker: $(VENV)/.installed
	$(BIN)/python worker.py

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

# Issue 21: the hot-slot burst, then 5000 bookings that all succeed (100 slots x 50 seats), then
# 5000 holds that each pay in the sandbox; the reference points with pgbench on the hold's SQL.
bench-all: $(VENV)/.installed
	$(BIN)/python bench/run.py --shapes hot,success,pay

# Mixed traffic of 200 parents for three minutes (Locust, requirements-bench.txt).
bench-load: $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-bench.txt
	$(BIN)/python bench/load.py

# The production shape on this machine (deploy/cluster.sh: HAProxy, 2 web, 2 workers, PgBouncer,
# primary + streaming replica, Redis; Debian packages pgbouncer haproxy postgresql redis-server)
# and the booking race through it; the cluster is taken down whatever the outcome.
cluster-test: $(VENV)/.installed
	bash deploy/cluster.sh up
	$(BIN)/python deploy/cluster_test.py; rc=$$?; bash deploy/cluster.sh down; exit $$rc

clean:
	rm -rf $(VENV) instance/nibog.db

# The dashboard with 100k bookings (its own database; see bench/admin_bench.py).
bench-admin: $(VENV)/.installed
	$(BIN)/python bench/admin_bench.py
