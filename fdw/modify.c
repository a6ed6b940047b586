/*
 * modify.c
 *		INSERT into a pgdl foreign table: each row goes to the wrapper's
 *		insert(values); the row it returns (if any) is what RETURNING sees.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/nodes.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "pgdl_fdw.h"

typedef struct PgdlModifyState
{
	char	   *tabledef;
	Oid			insert_fn;
	TupleDesc	record_desc;
	TupleTableSlot *returned;	/* the row insert() gave back */
} PgdlModifyState;

int
pgdlIsForeignRelUpdatable(Relation rel)
{
	return (1 << CMD_INSERT);
}

void
pgdlBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	Relation	rel = rinfo->ri_RelationDesc;
	PgdlModifyState *state = palloc0(sizeof(PgdlModifyState));
	Oid			argtypes[2] = {TEXTOID, pgdl_datum_array_type()};

	state->tabledef = pgdl_table_definition(RelationGetRelid(rel));
	state->insert_fn = pgdl_dispatch_function("_fdw_insert", 2, argtypes);
	state->record_desc = pgdl_record_desc(RelationGetDescr(rel));
	state->returned = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	rinfo->ri_FdwState = state;
}

void
pgdlBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
					   List *fdw_private, int subplan_index, int eflags)
{
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	pgdlBeginForeignInsert(mtstate, rinfo);
}

TupleTableSlot *
pgdlExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
					  TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	PgdlModifyState *state = rinfo->ri_FdwState;
	TupleDesc	tupdesc = slot->tts_tupleDescriptor;
	MemoryContext old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
	List	   *values = NIL;
	Datum		args[2];
	PgdlCall   *call;

	slot_getallattrs(slot);
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		values = lappend(values,
						 DatumGetPointer(pgdl_datum_row(NameStr(att->attname), NULL, NULL,
														att->atttypid, slot->tts_values[i],
														slot->tts_isnull[i])));
	}
	args[0] = CStringGetTextDatum(state->tabledef);
	args[1] = pgdl_datum_array(values);

	call = pgdl_call_begin(state->insert_fn, 2, args, NULL, state->record_desc, estate);
	/* With no row back from Python, RETURNING shows the row as inserted. */
	if (pgdl_call_next(call, state->returned))
	{
		ExecCopySlot(slot, state->returned);
		ExecMaterializeSlot(slot);
	}
	pgdl_call_end(call);
	MemoryContextSwitchTo(old);
	return slot;
}

void
pgdlEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	PgdlModifyState *state = rinfo->ri_FdwState;

	if (state)
		ExecDropSingleTupleTableSlot(state->returned);
}
