/*
 * exchange.c
 *		Segments that work in lockstep: a shared area and a barrier.
 *
 * A wrapper that declares exchange_bytes() runs each segment in its own
 * parallel participant, all at once (leader: segment 0, worker k: segment
 * k + 1), and gives each segment a slot of that many bytes in the scan's
 * shared memory.  Training uses it to merge weights after every iteration
 * without ending the scan: each segment writes its weights into its slot,
 * waits at the barrier, and reads everyone's.
 *
 * Waiters sleep on a condition variable that whoever changes the state
 * broadcasts.  Python reaches the functions marked PGDLLEXPORT through
 * ctypes, so they never raise a PostgreSQL error: a longjmp through Python
 * frames would corrupt the interpreter.  They hold interrupts while they
 * sleep, look at the cancel flags themselves and return codes instead.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/shmem.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "utils/wait_event.h"

#include "pgdl_fdw.h"

/* The exchange of the segment this process runs now, for Python to use. */
static PgdlExchange *current = NULL;

/*
 * The shared area of segments slots of bytes each.  Both numbers come from
 * Python, so they are checked here: a size that wrapped around would give
 * segments a slot past the end of the mapping.
 */
Size
pgdl_exchange_size(int segments, int64 bytes)
{
	if (segments < 1 || segments > PGDL_MAX_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a lockstep scan cannot run %d segments", segments),
				 errhint("Use 1 to %d segments.", PGDL_MAX_SEGMENTS)));
	if (bytes < 1 || bytes > PGDL_MAX_EXCHANGE_SLOT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a lockstep scan cannot share " INT64_FORMAT " bytes per segment", bytes),
				 errdetail("The limit is " INT64_FORMAT " bytes.", PGDL_MAX_EXCHANGE_SLOT)));
	return add_size(MAXALIGN(sizeof(PgdlExchange)),
					mul_size((Size) segments, MAXALIGN((Size) bytes)));
}

void
pgdl_exchange_init(PgdlExchange *exchange, int segments, int64 bytes)
{
	exchange->segments = segments;
	exchange->slot_bytes = MAXALIGN(bytes);
	exchange->participants = 0;
	pg_atomic_init_u32(&exchange->ready, 0);
	pg_atomic_init_u32(&exchange->failed, 0);
	pg_atomic_init_u32(&exchange->arrived, 0);
	pg_atomic_init_u32(&exchange->generation, 0);
	ConditionVariableInit(&exchange->changed);
}

/* Leader: how many participants started; all segments run only if all did. */
void
pgdl_exchange_publish(PgdlExchange *exchange, int participants)
{
	exchange->participants = participants;
	if (participants < exchange->segments)
		pg_atomic_write_u32(&exchange->failed, 1);
	pg_write_barrier();
	pg_atomic_write_u32(&exchange->ready, 1);
	ConditionVariableBroadcast(&exchange->changed);
}

/* Worker: waits for the leader's count; false when the segments cannot run. */
bool
pgdl_exchange_await(PgdlExchange *exchange)
{
	ConditionVariablePrepareToSleep(&exchange->changed);
	while (pg_atomic_read_u32(&exchange->ready) == 0)
		ConditionVariableSleep(&exchange->changed, PG_WAIT_EXTENSION);
	ConditionVariableCancelSleep();
	pg_read_barrier();
	return pg_atomic_read_u32(&exchange->failed) == 0;
}

void
pgdl_exchange_enter(PgdlExchange *exchange)
{
	current = exchange;
}

void
pgdl_exchange_leave(void)
{
	current = NULL;
}

PGDLLEXPORT int64 pgdl_exchange_bytes(void);
PGDLLEXPORT void *pgdl_exchange_slot(int segment);
PGDLLEXPORT int pgdl_exchange_wait(void);
PGDLLEXPORT void pgdl_exchange_fail(void);
PGDLLEXPORT int pgdl_exchange_segments(void);

int64
pgdl_exchange_bytes(void)
{
	return current ? (int64) current->slot_bytes : 0;
}

int
pgdl_exchange_segments(void)
{
	return current ? current->segments : 0;
}

void *
pgdl_exchange_slot(int segment)
{
	if (current == NULL || segment < 0 || segment >= current->segments)
		return NULL;
	return (char *) current + MAXALIGN(sizeof(PgdlExchange)) + (Size) segment * current->slot_bytes;
}

/*
 * The barrier: returns 0 when every segment has arrived, 1 on a cancel or
 * terminate request, 2 when another segment failed, 3 without an exchange.
 *
 * A cancel request sets this process's latch but not the condition
 * variable, and ConditionVariableTimedSleep only returns when woken or timed
 * out, so the sleep is cut into short timeouts to see the cancel flags.
 */
#define PGDL_CANCEL_CHECK_MS 50

int
pgdl_exchange_wait(void)
{
	PgdlExchange *exchange = current;
	uint32		generation;
	int			code = 0;

	if (exchange == NULL)
		return 3;
	generation = pg_atomic_read_u32(&exchange->generation);
	if (pg_atomic_add_fetch_u32(&exchange->arrived, 1) == (uint32) exchange->segments)
	{
		pg_atomic_write_u32(&exchange->arrived, 0);
		pg_atomic_fetch_add_u32(&exchange->generation, 1);
		ConditionVariableBroadcast(&exchange->changed);
		return 0;
	}
	HOLD_INTERRUPTS();
	ConditionVariablePrepareToSleep(&exchange->changed);
	while (pg_atomic_read_u32(&exchange->generation) == generation)
	{
		if (pg_atomic_read_u32(&exchange->failed))
		{
			code = 2;
			break;
		}
		if (QueryCancelPending || ProcDiePending)
		{
			code = 1;
			break;
		}
		(void) ConditionVariableTimedSleep(&exchange->changed, PGDL_CANCEL_CHECK_MS,
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	RESUME_INTERRUPTS();
	pg_read_barrier();
	return code;
}

void
pgdl_exchange_fail(void)
{
	if (current)
	{
		pg_atomic_write_u32(&current->failed, 1);
		ConditionVariableBroadcast(&current->changed);
	}
}
