# erp-outbound: `make demo` and `make test` work on a fresh clone with nothing installed.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

export PATH := $(BIN):$(PATH)
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export ERP_OUTBOUND_REPORTS ?= $(CURDIR)/reports

.PHONY: install db demo test bench clean lock

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# dag.test() needs a migrated metadata database in our own AIRFLOW_HOME.
db: $(AIRFLOW_HOME)/.migrated

$(AIRFLOW_HOME)/.migrated: $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/migrate.log; exit 1)
	touch $@

demo: install db
	$(BIN)/erp-outbound demo --workdir .demo --documents $(or $(DOCUMENTS),300)

test: install db
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Throughput, latency and memory of the Procuros pipeline: prints a table and a JSON line.
SIZES ?= 1000,10000,100000
bench: install db
	$(BIN)/python -m erp_outbound.bench.run --sizes $(SIZES) --workdir .bench

# Re-pin every dependency after changing pyproject.toml (run in a fresh venv).
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^erp-outbound' > constraints.txt

clean:
	rm -rf $(VENV) .airflow .demo .bench reports .pytest_cache
