/*
 * transactions.c
 *		PostgreSQL's transaction events, passed on to the wrapper instances
 *		that took part in the transaction (pgdl/multicorn/transactions.py).
 *
 * Python arms the callback with a function pointer when an instance first
 * joins a transaction; the end of the transaction disarms it, so backends
 * whose transactions use no wrapper class never call into Python here.
 */
#include "postgres.h"

#include "access/xact.h"

#include "pgdl_fdw.h"

/* the events as pgdl/multicorn/transactions.py numbers them */
#define PGDL_PRE_COMMIT 1
#define PGDL_COMMIT 2
#define PGDL_ABORT 3
#define PGDL_SUB_PRE_COMMIT 4
#define PGDL_SUB_ABORT 5

typedef int (*PgdlXactHook) (int event, int level);

static PgdlXactHook xact_hook = NULL;

PGDLLEXPORT void pgdl_xact_watch(void *hook);

/* Called from Python (ctypes): call hook at the next transaction events. */
void
pgdl_xact_watch(void *hook)
{
	xact_hook = (PgdlXactHook) hook;
}

static void
call_hook(int event, bool raise)
{
	if (xact_hook(event, GetCurrentTransactionNestLevel()) != 0 && raise)
		pgdl_raise_pending_error();
}

static void
xact_callback(XactEvent event, void *arg)
{
	if (xact_hook == NULL)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			/* still inside the transaction: a failing pre_commit aborts it */
			call_hook(PGDL_PRE_COMMIT, true);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			call_hook(PGDL_COMMIT, false);
			xact_hook = NULL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			call_hook(PGDL_ABORT, false);
			xact_hook = NULL;
			break;
		case XACT_EVENT_PRE_PREPARE:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot PREPARE a transaction that used a foreign table of a "
							"Python wrapper class")));
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	if (xact_hook == NULL)
		return;
	if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
		call_hook(PGDL_SUB_PRE_COMMIT, true);
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		call_hook(PGDL_SUB_ABORT, false);
}

void
pgdl_transactions_init(void)
{
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}
