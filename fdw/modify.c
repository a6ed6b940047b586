/*
 * modify.c
 *		INSERT, UPDATE and DELETE on a pgdl foreign table.
 *
 * Each row goes to the wrapper: insert(values), update(rowid, newvalues),
 * delete(rowid), or bulk_insert(rows) when the class takes more than one
 * row at a time (modify_batch_size).  The row a call returns, if any, is
 * what RETURNING sees.  As in multicorn2, UPDATE and DELETE find their row
 * by the column the class names as rowid_column, and a class without one
 * takes no writes at all.  pgdl's own kinds take INSERT only.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/nodes.h"
#include "optimizer/appendinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "pgdl_fdw.h"

/* the junk columns UPDATE and DELETE plans carry */
#define ROWID_JUNK "pgdl_rowid"
#define WHOLEROW_JUNK "wholerow"

typedef struct PgdlModifyState
{
	char	   *tabledef;
	CmdType		operation;
	bool		wrapper;		/* a Python wrapper class (end_modify) */
	Oid			insert_fn;
	Oid			write_fn;
	TupleDesc	record_desc;
	AttrNumber	rowid_attno;	/* in the plan's rows: the rowid junk column */
	AttrNumber	wholerow_attno; /* DELETE ... RETURNING: the row as it was */
	Oid			rowid_type;
	int			batch_size;
	TupleTableSlot *returned;	/* the row the wrapper gave back */
} PgdlModifyState;

int
pgdlIsForeignRelUpdatable(Relation rel)
{
	if (pgdl_is_wrapper_table(RelationGetRelid(rel)))
		return (1 << CMD_INSERT) | (1 << CMD_UPDATE) | (1 << CMD_DELETE);
	return (1 << CMD_INSERT);
}

static Form_pg_attribute
rowid_attribute(Relation rel, const char *tabledef)
{
	char	   *name = pgdl_call_hook(tabledef, "rowid", NULL);
	TupleDesc	tupdesc = RelationGetDescr(rel);

	for (int i = 0; name && i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
			 errmsg("rowid column \"%s\" of foreign table \"%s\" does not exist",
					name ? name : "", RelationGetRelationName(rel)),
			 errhint("The wrapper class's rowid_column must name a column of the table.")));
	return NULL;
}

/* UPDATE and DELETE: the plan's rows carry the rowid column (and, for
 * DELETE ... RETURNING, the whole row, which RETURNING then shows). */
void
pgdlAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
							RangeTblEntry *target_rte, Relation target_relation)
{
	Oid			write_args[4] = {TEXTOID, TEXTOID, pgdl_datum_array_type(),
	pgdl_datum_array_type()};
	Form_pg_attribute att;

	/* pgdl's own kinds: the executor refuses the UPDATE or DELETE */
	if (!pgdl_is_wrapper_table(RelationGetRelid(target_relation)))
		return;
	/* a database whose pgdl predates writes (0.7.0) says to update it */
	pgdl_dispatch_function("_fdw_write", 4, write_args);
	att = rowid_attribute(target_relation,
						  pgdl_table_definition(RelationGetRelid(target_relation)));

	add_row_identity_var(root, makeVar(rtindex, att->attnum, att->atttypid, att->atttypmod,
									   att->attcollation, 0),
						 rtindex, ROWID_JUNK);
	if (root->parse->commandType == CMD_DELETE && root->parse->returningList != NIL)
		add_row_identity_var(root, makeWholeRowVar(target_rte, rtindex, 0, false),
							 rtindex, WHOLEROW_JUNK);
}

static PgdlModifyState *
begin_modify(ResultRelInfo *rinfo, CmdType operation)
{
	Relation	rel = rinfo->ri_RelationDesc;
	PgdlModifyState *state = palloc0(sizeof(PgdlModifyState));
	Oid			insert_args[2] = {TEXTOID, pgdl_datum_array_type()};
	Oid			write_args[4] = {TEXTOID, TEXTOID, pgdl_datum_array_type(),
	pgdl_datum_array_type()};

	state->tabledef = pgdl_table_definition(RelationGetRelid(rel));
	state->operation = operation;
	state->wrapper = pgdl_is_wrapper_table(RelationGetRelid(rel));
	state->record_desc = pgdl_record_desc(RelationGetDescr(rel));
	state->returned = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	state->batch_size = 1;
	if (operation == CMD_INSERT)
	{
		/* refuses a class without a rowid column, as multicorn2 does */
		char	   *batch = pgdl_call_hook(state->tabledef, "insert", NULL);

		state->batch_size = batch ? Max(atoi(batch), 1) : 1;
		state->insert_fn = pgdl_dispatch_function("_fdw_insert", 2, insert_args);
	}
	if (state->wrapper && (operation != CMD_INSERT || state->batch_size > 1))
		state->write_fn = pgdl_dispatch_function("_fdw_write", 4, write_args);
	rinfo->ri_FdwState = state;
	return state;
}

void
pgdlBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	begin_modify(rinfo, CMD_INSERT);
}

void
pgdlBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
					   List *fdw_private, int subplan_index, int eflags)
{
	PgdlModifyState *state;
	List	   *targetlist;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	state = begin_modify(rinfo, mtstate->operation);
	if (mtstate->operation == CMD_INSERT)
		return;
	targetlist = outerPlanState(mtstate)->plan->targetlist;
	state->rowid_attno = ExecFindJunkAttributeInTlist(targetlist, ROWID_JUNK);
	if (!AttributeNumberIsValid(state->rowid_attno))
		elog(ERROR, "the plan of an UPDATE or DELETE on a pgdl foreign table has no rowid");
	/* the planner asked the class for its rowid column; the plan keeps its type */
	state->rowid_type = exprType((Node *) ((TargetEntry *) list_nth(targetlist,
																  state->rowid_attno - 1))->expr);
	state->wholerow_attno = ExecFindJunkAttributeInTlist(targetlist, WHOLEROW_JUNK);
}

/* The slot's columns as a pgdl.datum list, one per column not dropped. */
static List *
slot_datums(TupleTableSlot *slot, List *values)
{
	TupleDesc	tupdesc = slot->tts_tupleDescriptor;

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
	return values;
}

/* Calls a write function; a row it returns replaces slot's.  false: none. */
static bool
call_write(PgdlModifyState *state, Oid fnoid, int nargs, Datum *args, bool *nulls,
		   TupleTableSlot *slot, EState *estate)
{
	PgdlCall   *call = pgdl_call_begin(fnoid, nargs, args, nulls, state->record_desc, estate);
	bool		found = pgdl_call_next(call, state->returned);

	if (found)
	{
		ExecCopySlot(slot, state->returned);
		ExecMaterializeSlot(slot);
	}
	pgdl_call_end(call);
	return found;
}

TupleTableSlot *
pgdlExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
					  TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	PgdlModifyState *state = rinfo->ri_FdwState;
	MemoryContext old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
	Datum		args[2];

	args[0] = CStringGetTextDatum(state->tabledef);
	args[1] = pgdl_datum_array(slot_datums(slot, NIL));
	/* With no row back from Python, RETURNING shows the row as inserted. */
	call_write(state, state->insert_fn, 2, args, NULL, slot, estate);
	MemoryContextSwitchTo(old);
	return slot;
}

int
pgdlGetForeignModifyBatchSize(ResultRelInfo *rinfo)
{
	PgdlModifyState *state = rinfo->ri_FdwState;

	/*
	 * RETURNING and WITH CHECK OPTION need each row's answer at once; row
	 * triggers see the rows bulk_insert() returns, as in multicorn2.
	 */
	if (state == NULL || rinfo->ri_projectReturning != NULL ||
		rinfo->ri_WithCheckOptions != NIL)
		return 1;
	return state->batch_size;
}

TupleTableSlot **
pgdlExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot **slots,
						   TupleTableSlot **planSlots, int *numSlots)
{
	PgdlModifyState *state = rinfo->ri_FdwState;
	MemoryContext old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
	List	   *values = NIL;
	Datum		args[4];
	bool		nulls[4] = {false, false, true, false};
	PgdlCall   *call;
	int			returned = 0;

	for (int i = 0; i < *numSlots; i++)
		values = slot_datums(slots[i], values);
	args[0] = CStringGetTextDatum(state->tabledef);
	args[1] = CStringGetTextDatum("bulk_insert");
	args[2] = (Datum) 0;
	args[3] = pgdl_datum_array(values);
	call = pgdl_call_begin(state->write_fn, 4, args, nulls, state->record_desc, estate);
	/* rows bulk_insert() returns replace the inserted ones, if one for each */
	while (pgdl_call_next(call, state->returned))
	{
		if (returned < *numSlots)
		{
			ExecCopySlot(slots[returned], state->returned);
			ExecMaterializeSlot(slots[returned]);
		}
		returned++;
	}
	pgdl_call_end(call);
	if (returned != 0 && returned != *numSlots)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("bulk_insert() returned %d rows for %d inserted", returned, *numSlots)));
	MemoryContextSwitchTo(old);
	return slots;
}

/* update(rowid, newvalues) or delete(rowid), rowid from the plan's row. */
static TupleTableSlot *
update_or_delete(EState *estate, PgdlModifyState *state, const char *action,
				 TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	MemoryContext old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
	Datum		args[4];
	bool		nulls[4] = {false, false, false, false};
	bool		isnull;
	Datum		rowid = ExecGetJunkAttribute(planSlot, state->rowid_attno, &isnull);

	args[0] = CStringGetTextDatum(state->tabledef);
	args[1] = CStringGetTextDatum(action);
	args[2] = pgdl_datum_array(list_make1(DatumGetPointer(
		pgdl_datum_row("rowid", NULL, NULL, state->rowid_type, rowid, isnull))));
	args[3] = (Datum) 0;
	nulls[3] = state->operation == CMD_DELETE;
	if (state->operation == CMD_UPDATE)
		args[3] = pgdl_datum_array(slot_datums(slot, NIL));
	if (!call_write(state, state->write_fn, 4, args, nulls, slot, estate) &&
		state->operation == CMD_DELETE)
	{
		/* RETURNING shows the row as it was */
		Datum		whole = (Datum) 0;

		isnull = true;
		if (AttributeNumberIsValid(state->wholerow_attno))
			whole = ExecGetJunkAttribute(planSlot, state->wholerow_attno, &isnull);
		pgdl_store_record(slot, whole, isnull);
		ExecMaterializeSlot(slot);
	}
	MemoryContextSwitchTo(old);
	return slot;
}

TupleTableSlot *
pgdlExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
					  TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return update_or_delete(estate, rinfo->ri_FdwState, "update", slot, planSlot);
}

TupleTableSlot *
pgdlExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
					  TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return update_or_delete(estate, rinfo->ri_FdwState, "delete", slot, planSlot);
}

void
pgdlEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	PgdlModifyState *state = rinfo->ri_FdwState;

	if (state == NULL)
		return;
	ExecDropSingleTupleTableSlot(state->returned);
	if (state->wrapper)
		pgdl_call_hook(state->tabledef, "end_modify", NULL);
}
