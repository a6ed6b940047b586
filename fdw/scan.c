/*
 * scan.c
 *		Executing a foreign scan: segments, parallel coordination, rows.
 *
 * The rows of a scan split into n segments; a participant runs the
 * wrapper's execute() for one segment at a time, as segment k of n.  A
 * serial scan runs all n itself.  In a parallel scan the participants
 * (leader and workers) claim segment numbers from a counter in shared
 * memory, so each segment is run exactly once however many workers were
 * actually launched.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "port/atomics.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "pgdl_fdw.h"

void
pgdlBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	Relation	rel = node->ss.ss_currentRelation;
	PgdlScanState *state = palloc0(sizeof(PgdlScanState));
	Oid			argtypes[7];

	state->quals = pgdl_quals_from_private(list_nth(plan->fdw_private, PGDL_PRIVATE_QUALS),
										   plan->fdw_exprs);
	state->columns = list_nth(plan->fdw_private, PGDL_PRIVATE_COLUMNS);
	state->segments = intVal(list_nth(plan->fdw_private, PGDL_PRIVATE_SEGMENTS));
	state->has_source = intVal(list_nth(plan->fdw_private, PGDL_PRIVATE_HAS_SOURCE));
	state->exchange_bytes = strtoi64(strVal(list_nth(plan->fdw_private,
													 PGDL_PRIVATE_EXCHANGE_BYTES)), NULL, 10);
	state->plan_state = strVal(list_nth(plan->fdw_private, PGDL_PRIVATE_STATE));
	state->columnar = intVal(list_nth(plan->fdw_private, PGDL_PRIVATE_COLUMNAR));
	state->segment = -1;
	state->reader = pgdl_reader();
	state->tabledef = pgdl_table_definition(RelationGetRelid(rel));
	node->fdw_state = state;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	state->qual_states = ExecInitExprList(plan->fdw_exprs, (PlanState *) node);
	state->wrapper = pgdl_is_wrapper_table(RelationGetRelid(rel));
	state->record_desc = pgdl_record_desc(RelationGetDescr(rel));
	argtypes[0] = TEXTOID;
	argtypes[1] = pgdl_datum_array_type();
	argtypes[2] = TEXTARRAYOID;
	argtypes[3] = INT4OID;
	argtypes[4] = INT4OID;
	argtypes[5] = TEXTOID;
	argtypes[6] = argtypes[1];
	state->scan_fn = pgdl_dispatch_function(state->columnar ? "_fdw_scan_columns" : "_fdw_scan",
											7, argtypes);
	if (state->has_source)
		state->source_fn = pgdl_dispatch_function("_fdw_source", 6, argtypes);
	state->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgdl scan rows",
										   ALLOCSET_DEFAULT_SIZES);
	state->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgdl source batch",
											 ALLOCSET_DEFAULT_SIZES);
	state->columns_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgdl batch of rows",
											   ALLOCSET_DEFAULT_SIZES);
	state->quals_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgdl scan quals",
											 ALLOCSET_SMALL_SIZES);
}

/* Evaluates the qual values (constants, parameters) for this scan. */
static Datum
evaluate_quals(ForeignScanState *node, PgdlScanState *state)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	TupleDesc	tupdesc = RelationGetDescr(node->ss.ss_currentRelation);
	int			n = list_length(state->quals);
	Datum	   *values = palloc0(sizeof(Datum) * Max(n, 1));
	bool	   *isnulls = palloc0(sizeof(bool) * Max(n, 1));
	int			value_index = 0;
	ListCell   *lc;

	foreach(lc, state->quals)
	{
		PgdlQual   *qual = lfirst(lc);
		int			i = foreach_current_index(lc);

		if (qual->value == NULL)
			continue;
		values[i] = ExecEvalExpr(list_nth(state->qual_states, value_index++),
								 econtext, &isnulls[i]);
	}
	return pgdl_quals_to_python(state->quals, values, isnulls, tupdesc, false);
}

/*
 * A lockstep scan runs each segment in its own participant, all at once:
 * the leader segment 0, worker k segment k + 1.  The leader checks that
 * every worker started; a worker waits for the leader's word.
 */
static int
claim_lockstep_segment(PgdlScanState *state)
{
	if (state->exchange_checked)
		return -1;
	state->exchange_checked = true;
	if (state->exchange == NULL)
	{
		if (state->segments > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("this scan runs %d segments at once and needs a parallel plan",
							state->segments),
					 errhint("Allow %d parallel workers (max_parallel_workers_per_gather), "
							 "outside a cursor or a function that forbids parallel query.",
							 state->segments - 1)));
		state->exchange = MemoryContextAllocHuge(CurrentMemoryContext,
											 pgdl_exchange_size(1, state->exchange_bytes));
		pgdl_exchange_init(state->exchange, 1, state->exchange_bytes);
		pgdl_exchange_publish(state->exchange, 1);
		return 0;
	}
	if (!IsParallelWorker())
	{
		int			participants = state->pcxt ? state->pcxt->nworkers_launched + 1 : 1;

		pgdl_exchange_publish(state->exchange, participants);
		if (participants < state->segments)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("only %d of %d segments could start", participants,
							state->segments),
					 errdetail("Each segment of this scan runs in its own process, all at once."),
					 errhint("Raise max_parallel_workers and max_worker_processes, or use "
							 "fewer segments.")));
		return 0;
	}
	if (!pgdl_exchange_await(state->exchange))
		return -1;				/* the leader reports why */
	return ParallelWorkerNumber + 1;
}

static int
claim_segment(PgdlScanState *state)
{
	uint32		segment;

	if (state->exchange_bytes > 0)
		return claim_lockstep_segment(state);
	if (state->shared)
		segment = pg_atomic_fetch_add_u32(&state->shared->next_segment, 1);
	else
		segment = state->next_segment++;
	return segment < (uint32) state->segments ? (int) segment : -1;
}

/* tabledef, quals, columns, segment, segments, plan state: the arguments of every call */
static bool next_call(ForeignScanState *node, PgdlScanState *state);

/*
 * The table definition, the columns and the plan state are the same for
 * every call of the scan, so they are formed once, in the query's memory;
 * the quals once per (re)scan, in memory the rescan frees.
 */
static void
segment_arguments(ForeignScanState *node, PgdlScanState *state, Datum *args)
{
	if (state->tabledef_datum == (Datum) 0 || state->quals_datum == (Datum) 0)
	{
		TupleDesc	tupdesc = RelationGetDescr(node->ss.ss_currentRelation);
		MemoryContext old = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);

		if (state->tabledef_datum == (Datum) 0)
		{
			state->tabledef_datum = CStringGetTextDatum(state->tabledef);
			state->columns_datum = pgdl_text_array(pgdl_column_names(tupdesc, state->columns));
			state->plan_state_datum = CStringGetTextDatum(state->plan_state);
		}
		MemoryContextSwitchTo(old);
		if (state->quals_datum == (Datum) 0)
		{
			old = MemoryContextSwitchTo(state->quals_cxt);
			state->quals_datum = evaluate_quals(node, state);
			MemoryContextSwitchTo(old);
		}
	}
	args[0] = state->tabledef_datum;
	args[1] = state->quals_datum;
	args[2] = state->columns_datum;
	args[3] = Int32GetDatum(state->segment);
	args[4] = Int32GetDatum(state->segments);
	args[5] = state->plan_state_datum;
}

/* The rows the wrapper reads for this segment, or NULL when it reads none. */
static PgdlSource *
open_source(ForeignScanState *node, PgdlScanState *state)
{
	Datum		args[6];
	Datum		result;
	bool		isnull;
	HeapTupleHeader td;
	Datum		sql;
	int			batch_size;
	int			first_batch;

	segment_arguments(node, state, args);
	result = pgdl_call_function(state->source_fn, 6, args, NULL, &isnull);
	if (isnull)
		return NULL;
	td = DatumGetHeapTupleHeader(result);
	sql = pgdl_record_field(td, "sql", &isnull);
	if (isnull)
		return NULL;
	batch_size = DatumGetInt32(pgdl_record_field(td, "batch_size", &isnull));
	if (isnull)
		batch_size = 0;
	first_batch = DatumGetInt32(pgdl_record_field(td, "first_batch", &isnull));
	if (isnull)
		first_batch = 0;
	return pgdl_source_open(TextDatumGetCString(sql), batch_size, first_batch, state->reader);
}

/*
 * Starts the next call of the wrapper's execute(): once per segment, or once
 * per batch of the segment's source rows.  False when every segment is done.
 * Calls and sources live in the query's memory: Iterate may be called in a
 * short-lived context.
 */
static bool
start_call(ForeignScanState *node, PgdlScanState *state)
{
	MemoryContext old = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
	bool		started = next_call(node, state);

	MemoryContextSwitchTo(old);
	return started;
}

static bool
next_call(ForeignScanState *node, PgdlScanState *state)
{
	for (;;)
	{
		Datum		args[7];
		bool		nulls[7] = {false, false, false, false, false, false, true};
		bool		fresh = false;

		if (state->segment < 0)
		{
			state->segment = claim_segment(state);
			if (state->segment < 0)
				return false;
			if (state->has_source)
				state->source = open_source(node, state);
			fresh = true;
		}
		if (state->has_source)
		{
			MemoryContext old;
			bool		more;

			MemoryContextReset(state->batch_cxt);
			old = MemoryContextSwitchTo(state->batch_cxt);
			more = state->source && pgdl_source_next(state->source, &args[6]);
			MemoryContextSwitchTo(old);

			if (!more)
			{
				pgdl_source_close(state->source);
				state->source = NULL;
				state->segment = -1;
				continue;
			}
			nulls[6] = false;
		}
		else if (!fresh)
		{
			state->segment = -1;
			continue;
		}
		segment_arguments(node, state, args);
		if (state->exchange)
			pgdl_exchange_enter(state->exchange);
		state->call = pgdl_call_begin(state->scan_fn, 7, args, nulls, state->record_desc,
									  node->ss.ps.state);
		return true;
	}
}

TupleTableSlot *
pgdlIterateForeignScan(ForeignScanState *node)
{
	PgdlScanState *state = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	MemoryContextReset(state->row_cxt);
	for (;;)
	{
		MemoryContext old;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		if (state->columnar && pgdl_batch_next(&state->batch, slot))
			return slot;
		if (state->call == NULL && !start_call(node, state))
			return ExecClearTuple(slot);

		if (state->columnar)
		{
			Datum		columns;
			bool		isnull;

			MemoryContextReset(state->columns_cxt);
			state->batch.rows = 0;
			old = MemoryContextSwitchTo(state->columns_cxt);
			found = pgdl_call_next_value(state->call, &columns, &isnull);
			if (found && !isnull)
				pgdl_batch_decode(&state->batch, slot->tts_tupleDescriptor, columns);
			MemoryContextSwitchTo(old);
			CHECK_FOR_INTERRUPTS();
			if (found)
				continue;
		}
		else
		{
			old = MemoryContextSwitchTo(state->row_cxt);
			found = pgdl_call_next(state->call, slot);
			MemoryContextSwitchTo(old);
		}

		/* A wrapper that saw a cancel request ends its rows; raise it here. */
		CHECK_FOR_INTERRUPTS();
		if (found)
			return slot;
		pgdl_call_end(state->call);
		state->call = NULL;
		pgdl_exchange_leave();
	}
}

void
pgdlReScanForeignScan(ForeignScanState *node)
{
	PgdlScanState *state = node->fdw_state;

	pgdl_call_end(state->call);
	state->call = NULL;
	state->batch.rows = 0;
	pgdl_exchange_leave();
	pgdl_source_close(state->source);
	state->source = NULL;
	state->segment = -1;
	state->next_segment = 0;
	state->exchange_checked = false;
	state->quals_datum = (Datum) 0;
	MemoryContextReset(state->quals_cxt);
}

void
pgdlEndForeignScan(ForeignScanState *node)
{
	PgdlScanState *state = node->fdw_state;

	if (state)
	{
		pgdl_call_end(state->call);
		state->call = NULL;
		pgdl_exchange_leave();
		pgdl_source_close(state->source);
		state->source = NULL;
		if (state->wrapper)
			pgdl_call_hook(state->tabledef, "end_scan", NULL);
	}
}

static PgdlExchange *
exchange_of(PgdlScanState *state, void *coordinate)
{
	if (state->exchange_bytes <= 0)
		return NULL;
	return (PgdlExchange *) ((char *) coordinate + MAXALIGN(sizeof(PgdlSharedScan)));
}

Size
pgdlEstimateDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt)
{
	PgdlScanState *state = node->fdw_state;
	Size		size = MAXALIGN(sizeof(PgdlSharedScan));

	if (state->exchange_bytes > 0)
		size = add_size(size, pgdl_exchange_size(state->segments, state->exchange_bytes));
	return size;
}

void
pgdlInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	PgdlScanState *state = node->fdw_state;

	state->shared = coordinate;
	state->pcxt = pcxt;
	pg_atomic_init_u32(&state->shared->next_segment, 0);
	state->shared->reader = state->reader;
	state->exchange = exchange_of(state, coordinate);
	if (state->exchange)
		pgdl_exchange_init(state->exchange, state->segments, state->exchange_bytes);
}

void
pgdlReInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	PgdlScanState *state = node->fdw_state;

	pg_atomic_write_u32(&((PgdlSharedScan *) coordinate)->next_segment, 0);
	if (state->exchange)
		pgdl_exchange_init(state->exchange, state->segments, state->exchange_bytes);
}

void
pgdlInitializeWorkerForeignScan(ForeignScanState *node, shm_toc *toc, void *coordinate)
{
	PgdlScanState *state = node->fdw_state;

	state->shared = coordinate;
	state->reader = state->shared->reader;
	state->exchange = exchange_of(state, coordinate);
}
