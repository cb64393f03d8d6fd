# erp-outbound: `make demo` and `make test` work on a fresh clone with nothing installed.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
APT := $(if $(filter 0,$(shell id -u)),apt-get,sudo apt-get)

export PATH := $(BIN):$(PATH)
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export ERP_OUTBOUND_REPORTS ?= $(CURDIR)/reports
# mkdocs-material prints a banner on every build (its end of life is May 2027; Zensical, its successor, reads the same mkdocs.yml).
export NO_MKDOCS_2_WARNING := 1

.PHONY: install browser db pools demo test docs test-runtime-install bench bench-distributed clean lock airflow airflow-stop screenshots

install: $(STAMP)

# The package metadata goes to .install/ (setup.cfg); the one an older install left in plugins/ (on sys.path)
# would still be a second distribution: Airflow would register the plugin twice.
$(STAMP): pyproject.toml setup.cfg constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	rm -rf plugins/*.egg-info
	touch $(STAMP)

# dag.test() needs a migrated metadata database in our own AIRFLOW_HOME.
db: $(AIRFLOW_HOME)/.migrated pools

$(AIRFLOW_HOME)/.migrated: $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/migrate.log; exit 1)
	touch $@

# The per-vendor pools (erp_outbound/pools.py): a scheduler never starts a task whose pool is missing.
pools: $(AIRFLOW_HOME)/.migrated
	$(BIN)/python -m erp_outbound.pools > $(AIRFLOW_HOME)/pools.json
	$(BIN)/airflow pools import $(AIRFLOW_HOME)/pools.json

demo: install db
	$(BIN)/erp-outbound demo --workdir .demo --documents $(or $(DOCUMENTS),300)

test: install db browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link or anchor fails the build
# (tests/test_docs.py does the same in `make test`).
docs: install
	$(BIN)/mkdocs build --strict --site-dir site

# The UI tests drive Debian's chromium and chromedriver (never a downloaded browser): installed when missing.
browser:
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || $(APT) install -y -q chromium chromium-driver \
		|| ($(APT) update -q && $(APT) install -y -q chromium chromium-driver)

# Only the runtime-only install test (part of `make test`): pip install . without extras into a fresh venv.
test-runtime-install: install
	$(BIN)/python -m pytest -q -m install $(PYTEST_ARGS)

# A real local Airflow with the demo ERP and the sandbox, in .airflow-local/ (its own AIRFLOW_HOME,
# not the .airflow above): UI on http://127.0.0.1:$(AIRFLOW_PORT), user admin, password printed.
# Only triggered runs (no 15-minute schedules, DAGs unpaused): a dry run from the form never follows a real run.
# Ctrl-C stops it, or `make airflow-stop` from another shell.
AIRFLOW_PORT ?= 8080
airflow: install
	$(BIN)/erp-outbound airflow --port $(AIRFLOW_PORT) --documents $(or $(DOCUMENTS),300)

airflow-stop: install
	$(BIN)/erp-outbound airflow-stop

# The documentation's pictures of the UI (docs/screenshots/), taken with headless chromium from a running `make airflow`.
screenshots: install browser
	$(BIN)/python -m erp_outbound_tools.local_airflow.screenshots --out docs/screenshots

# Each DAG file's parse time beside `import airflow.sdk` alone (LEGS=parse), throughput, latency and memory
# of the Procuros pipeline (LEGS=sizes), and every vendor endpoint beside a
# bare aiohttp client, clean and under vendor pressure (LEGS=engine, or legs by name: procuros,gep:faults,...;
# ENGINE_DOCUMENTS per leg), the contract check's cost beside main's transform (LEGS=contract, at the
# largest of SIZES): prints tables and a BENCH {json} line. LEGS=journal: the Deliveries page's
# queries on a journal of JOURNAL_ROWS rows built on the local PostgreSQL and MariaDB (scratch databases),
# beside the queries before the open set.
SIZES ?= 1000,10000,100000
LEGS ?= parse,sizes,engine
ENGINE_DOCUMENTS ?= 3000
JOURNAL_ROWS ?= 1000000
CONTRACT_BASELINE ?= main
bench: install db
	$(BIN)/python -m erp_outbound_tools.bench.run --sizes $(SIZES) --legs $(LEGS) --documents $(ENGINE_DOCUMENTS) \
		--journal-rows $(JOURNAL_ROWS) --contract-baseline $(CONTRACT_BASELINE) --workdir .bench

# The same backlog on one and on two Celery workers (CeleryExecutor; broker: the local Redis; metadata DB,
# result backend and ERP: scratch databases on the local PostgreSQL): wall time, which worker ran each
# load task, no document sent twice. Prints a table and a BENCH_DISTRIBUTED JSON line.
WORKERS ?= 1,2
LOAD_TASKS ?= 4
REPEAT ?= 1
LATENCY_MS ?= 20
bench-distributed: install
	$(BIN)/python -m erp_outbound_tools.bench.distributed --documents $(or $(DOCUMENTS),20000) \
		--load-tasks $(LOAD_TASKS) --workers $(WORKERS) --repeat $(REPEAT) --latency-ms $(LATENCY_MS) \
		--workdir .bench/distributed

# Re-pin every dependency after changing pyproject.toml (run in a fresh venv).
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^erp-outbound' > constraints.txt

clean:
	rm -rf $(VENV) .airflow .airflow-local .demo .bench reports .pytest_cache
