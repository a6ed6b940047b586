/*
 * apart.c
 *		Work committed apart from the caller's transaction.
 *
 * pgdl_apart_run(what, argument) starts a background worker that
 * connects to this database as the bootstrap superuser, calls the
 * PL/Python function pgdl_internal._in_apart(what, argument) in a
 * transaction of its own and commits it.  The caller waits for the worker
 * and gets its text result, or its error.  A model selection job uses it
 * for what must outlive a cancel: its progress rows and every
 * configuration it finished.  It is no SQL function: only pgdl's Python
 * reaches it, and the worker runs only that one function.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "pgdl_fdw.h"

#define RESULT_BYTES 8192

typedef enum ApartStatus
{
	APART_NOT_RUN = 0,
	APART_DONE,
	APART_FAILED
} ApartStatus;

/* The shared segment: the request, then room for the answer. */
typedef struct Apart
{
	ApartStatus status;
	Oid			database;
	int			sqlerrcode;
	Size		what_bytes;
	Size		argument_bytes;
	char		result[RESULT_BYTES];	/* result, or error message */
	char		hint[RESULT_BYTES];
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* what, then argument */
} Apart;

PGDLLEXPORT void pgdl_apart_main(Datum main_arg);

static void
copy_text(char *target, const char *source)
{
	strlcpy(target, source ? source : "", RESULT_BYTES);
}

/*
 * Runs `what` apart and waits: 0 when it committed (result holds its
 * answer), 1 when it failed (result its message, hint its hint, *sqlstate
 * its code), 2 when the worker ended before it finished, 3 when no worker
 * could start.  Python calls it through ctypes, from the job's process
 * while a scan runs there (a parallel operation, where no SQL may start a
 * subtransaction), so it never raises: it holds interrupts while it waits
 * (a cancel takes effect when it returns), and gives codes instead.
 */
PGDLLEXPORT int pgdl_apart_run(const char *what, size_t what_bytes, const char *argument,
							   size_t argument_bytes, char *result, char *hint, int *sqlstate);

int
pgdl_apart_run(const char *what, size_t what_bytes, const char *argument,
			   size_t argument_bytes, char *result, char *hint, int *sqlstate)
{
	dsm_segment *segment;
	Apart	   *apart;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle = NULL;
	pid_t		pid;
	int			code;

	result[0] = hint[0] = '\0';
	segment = dsm_create(offsetof(Apart, data) + what_bytes + argument_bytes,
						 DSM_CREATE_NULL_IF_MAXSEGMENTS);
	if (segment == NULL)
		return 3;
	apart = dsm_segment_address(segment);
	memset(apart, 0, offsetof(Apart, data));
	apart->database = MyDatabaseId;
	apart->what_bytes = what_bytes;
	apart->argument_bytes = argument_bytes;
	memcpy(apart->data, what, what_bytes);
	memcpy(apart->data + what_bytes, argument, argument_bytes);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pgdl");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgdl_apart_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgdl apart for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pgdl apart");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(segment));
	worker.bgw_notify_pid = MyProcPid;

	HOLD_INTERRUPTS();
	/* a slot may be taken for a while by parallel workers: wait up to 10 s */
	for (int attempt = 0; !RegisterDynamicBackgroundWorker(&worker, &handle); attempt++)
	{
		if (attempt == 100)
		{
			RESUME_INTERRUPTS();
			dsm_detach(segment);
			return 3;
		}
		pg_usleep(100000L);
	}
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_POSTMASTER_DIED)
		WaitForBackgroundWorkerShutdown(handle);
	RESUME_INTERRUPTS();

	if (apart->status == APART_DONE)
		code = 0;
	else if (apart->status == APART_FAILED)
		code = 1;
	else
		code = 2;
	memcpy(result, apart->result, RESULT_BYTES);
	memcpy(hint, apart->hint, RESULT_BYTES);
	*sqlstate = apart->sqlerrcode;
	dsm_detach(segment);
	return code;
}

void
pgdl_apart_main(Datum main_arg)
{
	dsm_segment *segment;
	Apart	   *apart;
	MemoryContext context;
	Oid			argtypes[2] = {TEXTOID, BYTEAOID};
	Datum		args[2];
	bool		nulls[2] = {false, false};
	bool		isnull = false;
	bytea	   *argument;

	BackgroundWorkerUnblockSignals();
	segment = dsm_attach(DatumGetUInt32(main_arg));
	if (segment == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgdl apart: the caller's shared memory is gone")));
	apart = dsm_segment_address(segment);
	BackgroundWorkerInitializeConnectionByOid(apart->database, BOOTSTRAP_SUPERUSERID,
											  BGWORKER_BYPASS_ALLOWCONN);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	context = CurrentMemoryContext;
	PG_TRY();
	{
		Datum		result;

		argument = palloc(VARHDRSZ + apart->argument_bytes);
		SET_VARSIZE(argument, VARHDRSZ + apart->argument_bytes);
		memcpy(VARDATA(argument), apart->data + apart->what_bytes, apart->argument_bytes);
		args[0] = PointerGetDatum(cstring_to_text_with_len(apart->data, apart->what_bytes));
		args[1] = PointerGetDatum(argument);
		result = pgdl_call_function(pgdl_dispatch_function("_in_apart", 2, argtypes), 2,
									args, nulls, &isnull);
		copy_text(apart->result, isnull ? "" : TextDatumGetCString(result));
		PopActiveSnapshot();
		CommitTransactionCommand();
		apart->status = APART_DONE;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		FlushErrorState();
		copy_text(apart->result, error->message);
		copy_text(apart->hint, error->hint);
		apart->sqlerrcode = error->sqlerrcode;
		apart->status = APART_FAILED;
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	dsm_detach(segment);
	proc_exit(0);
}
