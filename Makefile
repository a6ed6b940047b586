# pgdl: the C handler and the extension's SQL (PGXS), and the project's targets.
#
#   make demo    the main job end to end, on a throwaway cluster it starts
#   make test    install what the tests need, then run them
#   make db      start or reuse the local cluster with pgdl; prints its URI last
#   make citus   build Citus once, start or reuse a coordinator and two workers
#                with citus and pgdl; prints the coordinator's URI last
#   make bench   all benchmarks
#
# PGDL_VENV is the Python environment the server imports pgdl from (the
# default of the pgdl.venv setting); it must be readable by the postgres user.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PGDL_VENV ?= /opt/pgdl/venv
PYTHON_VERSION = 3.11
VENV_PYTHON = $(PGDL_VENV)/bin/python

MODULE_big = pgdl
OBJS = fdw/handler.o fdw/options.o fdw/quals.o fdw/values.o fdw/python_call.o \
       fdw/plan.o fdw/scan.o fdw/explain.o fdw/modify.o fdw/import.o \
       fdw/functions.o fdw/source.o fdw/exchange.o fdw/columns.o \
       fdw/privilege.o fdw/depend.o fdw/apart.o fdw/transactions.o
EXTENSION = pgdl
DATA = $(wildcard sql/pgdl--*.sql)
# pg_regress (make installcheck, against PGHOST/PGPORT): the SQL surface and
# EXPLAIN output, test/sql against test/expected.
REGRESS = surface explain
REGRESS_OPTS = --inputdir=test --outputdir=$(REGRESS_OUT)
REGRESS_OUT ?= test
PG_CPPFLAGS = -DPGDL_DEFAULT_VENV='"$(PGDL_VENV)"' -DPGDL_PYTHON_VERSION='"$(PYTHON_VERSION)"'

# Until setup has installed PostgreSQL's server headers, only our own targets work.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
endif

.PHONY: setup demo test db citus bench multicorn-suite

setup:
	PGDL_VENV=$(PGDL_VENV) PG_CONFIG=$(PG_CONFIG) bash scripts/setup.sh

demo: setup
	$(VENV_PYTHON) -m pgdl_tools.demo

test: setup
	bash scripts/setup-clients.sh
	PG_CONFIG=$(PG_CONFIG) bash scripts/citus.sh
	$(PGDL_VENV)/bin/pytest

db: setup
	@$(VENV_PYTHON) -m pgdl_tools.cluster start

citus: setup
	@PG_CONFIG=$(PG_CONFIG) bash scripts/citus.sh
	@$(VENV_PYTHON) -m pgdl_tools.citus start

# multicorn2's own regression suite against pgdl_fdw (not part of `make test`:
# it needs a clone of the suite): make multicorn-suite MULTICORN2=path [DIFFS=dir]
multicorn-suite: setup
	@test -n "$(MULTICORN2)" || { echo "usage: make multicorn-suite MULTICORN2=path/to/multicorn2 [DIFFS=dir]"; exit 2; }
	@$(PGDL_VENV)/bin/python -c "import psycopg2" 2>/dev/null || $(PGDL_VENV)/bin/pip install -q psycopg2-binary
	@$(VENV_PYTHON) -m pgdl_tools.multicorn_suite "$(MULTICORN2)" $(if $(DIFFS),--diffs "$(DIFFS)")

bench: setup
	@PG_CONFIG=$(PG_CONFIG) bash scripts/citus.sh
	@for script in bench/bench_*.py; do echo "== $$script"; $(VENV_PYTHON) $$script || exit 1; done
