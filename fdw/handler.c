/*
 * handler.c
 *		Module start-up, settings and the FDW routine table.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "jit/jit.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "pgdl_fdw.h"

PG_MODULE_MAGIC;

#ifndef PGDL_DEFAULT_VENV
#define PGDL_DEFAULT_VENV "/opt/pgdl/venv"
#endif

char	   *pgdl_venv = NULL;
static int	onnx_memory_limit = 4096;	/* MB */

/* pgdl.leader_segment_process: off, on, auto (pgdl/engine/segment_process.py) */
static int	leader_segment_process = 2;
static const struct config_enum_entry leader_segment_process_options[] = {
	{"off", 0, false},
	{"on", 1, false},
	{"auto", 2, false},
	{NULL, 0, false}
};

/* pgdl.segment_server_timeout, seconds (pgdl/engine/segment_server.py) */
static int	segment_server_timeout = 600;

void		_PG_init(void);

static ExecutorStart_hook_type previous_executor_start = NULL;

/*
 * A backend that runs pgdl's Python compiles no query with JIT, whatever
 * jit says: PostgreSQL's LLVM and the one TensorFlow brings crash the
 * process when both load (and the postmaster then restarts the whole
 * cluster).  Checked at executor start, so that it also covers the query
 * whose planning loaded pgdl.  pgdl/engine/keras_loader.py refuses
 * TensorFlow in a session that JIT-compiled a query before.
 */
static void
pgdl_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (pgdl_python_loaded)
		queryDesc->plannedstmt->jitFlags = PGJIT_NONE;
	if (previous_executor_start)
		previous_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
_PG_init(void)
{
	/* Decides which Python code the server runs, so only a superuser sets it. */
	DefineCustomStringVariable("pgdl.venv",
							   "Python virtual environment that holds the pgdl package.",
							   NULL,
							   &pgdl_venv,
							   PGDL_DEFAULT_VENV,
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	/* What one backend's ONNX Runtime sessions may allocate, all together. */
	DefineCustomIntVariable("pgdl.onnx_memory_limit",
							"Memory the ONNX Runtime sessions of one backend may allocate.",
							"Read when the backend first builds a session; a model that asks "
							"for more fails with an error instead of exhausting the server.",
							&onnx_memory_limit,
							4096, 16, INT_MAX / 2,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);
	/* Whether the leader trains its segment in a child process, which ends with the job. */
	DefineCustomEnumVariable("pgdl.leader_segment_process",
							 "Whether the leader's segment of a training job runs in a process "
							 "of its own.",
							 "auto: where there are GPUs, so that the backend holds no GPU "
							 "memory after the job.",
							 &leader_segment_process,
							 2,
							 leader_segment_process_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	/* Keeps Keras loaded between jobs in one process per cluster; costs its memory. */
	DefineCustomIntVariable("pgdl.segment_server_timeout",
							"How long the segment server, which forks the segments' training "
							"processes with Keras loaded, waits for the next job.",
							"0 turns it off: every parallel worker then loads Keras itself.",
							&segment_server_timeout,
							600, 0, 7 * 24 * 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("pgdl");
	pgdl_privilege_init();
	pgdl_transactions_init();
	previous_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = pgdl_executor_start;
}

char *
pgdl_site_packages_path(void)
{
	return psprintf("%s/lib/python%s/site-packages", pgdl_venv, PGDL_PYTHON_VERSION);
}

/* pgdl.onnx_memory_limit in bytes, for Python (through ctypes). */
PGDLLEXPORT int64 pgdl_onnx_memory_bytes(void);

int64
pgdl_onnx_memory_bytes(void)
{
	return (int64) onnx_memory_limit * 1024 * 1024;
}

/* pgdl.leader_segment_process, for Python (through ctypes): 0 off, 1 on, 2 auto. */
PGDLLEXPORT int pgdl_leader_segment_process(void);

int
pgdl_leader_segment_process(void)
{
	return leader_segment_process;
}

/* pgdl.segment_server_timeout in seconds, for Python (through ctypes). */
PGDLLEXPORT int pgdl_segment_server_timeout(void);

int
pgdl_segment_server_timeout(void)
{
	return segment_server_timeout;
}

PG_FUNCTION_INFO_V1(pgdl_site_packages);

/* The site-packages folder of pgdl.venv, which the dispatcher puts on sys.path. */
Datum
pgdl_site_packages(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(pgdl_site_packages_path()));
}

PG_FUNCTION_INFO_V1(pgdl_fdw_handler);

Datum
pgdl_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = pgdlGetForeignRelSize;
	routine->GetForeignPaths = pgdlGetForeignPaths;
	routine->GetForeignPlan = pgdlGetForeignPlan;
	routine->GetForeignUpperPaths = pgdlGetForeignUpperPaths;
	routine->BeginForeignScan = pgdlBeginForeignScan;
	routine->IterateForeignScan = pgdlIterateForeignScan;
	routine->ReScanForeignScan = pgdlReScanForeignScan;
	routine->EndForeignScan = pgdlEndForeignScan;
	routine->ExplainForeignScan = pgdlExplainForeignScan;

	routine->IsForeignScanParallelSafe = pgdlIsForeignScanParallelSafe;
	routine->EstimateDSMForeignScan = pgdlEstimateDSMForeignScan;
	routine->InitializeDSMForeignScan = pgdlInitializeDSMForeignScan;
	routine->ReInitializeDSMForeignScan = pgdlReInitializeDSMForeignScan;
	routine->InitializeWorkerForeignScan = pgdlInitializeWorkerForeignScan;

	routine->IsForeignRelUpdatable = pgdlIsForeignRelUpdatable;
	routine->BeginForeignModify = pgdlBeginForeignModify;
	routine->BeginForeignInsert = pgdlBeginForeignInsert;
	routine->ExecForeignInsert = pgdlExecForeignInsert;
	routine->ExecForeignUpdate = pgdlExecForeignUpdate;
	routine->ExecForeignDelete = pgdlExecForeignDelete;
	routine->AddForeignUpdateTargets = pgdlAddForeignUpdateTargets;
	routine->GetForeignModifyBatchSize = pgdlGetForeignModifyBatchSize;
	routine->ExecForeignBatchInsert = pgdlExecForeignBatchInsert;
	routine->EndForeignModify = pgdlEndForeignModify;
	routine->EndForeignInsert = pgdlEndForeignModify;

	routine->ImportForeignSchema = pgdlImportForeignSchema;

	PG_RETURN_POINTER(routine);
}
