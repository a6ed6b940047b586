/*
 * explain.c
 *		EXPLAIN output of a pgdl foreign scan.
 *
 * Always: the segment count of a split scan and the wrapper's own lines
 * (explain() returns "Label: text" lines, shown as EXPLAIN properties).
 * Under VERBOSE: the quals and columns handed to Python.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "pgdl_fdw.h"

static void
show_wrapper_lines(ArrayType *lines, ExplainState *es)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(lines, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *line;
		char	   *sep;

		if (nulls[i])
			continue;
		line = TextDatumGetCString(elems[i]);
		sep = strstr(line, ": ");
		if (sep && sep != line)
		{
			*sep = '\0';
			ExplainPropertyText(line, sep + 2, es);
		}
		else
			ExplainPropertyText("Wrapper", line, es);
	}
}

void
pgdlExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	PgdlScanState *state = node->fdw_state;
	TupleDesc	tupdesc = RelationGetDescr(node->ss.ss_currentRelation);
	Oid			argtypes[6] = {TEXTOID, pgdl_datum_array_type(), TEXTARRAYOID, BOOLOID, TEXTOID,
	INT4OID};
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	List	   *names = pgdl_column_names(tupdesc, state->columns);
	Datum		args[6];
	Datum		lines;
	bool		isnull;

	if (state->segments > 1)
		ExplainPropertyInteger("Segments", NULL, state->segments, es);
	if (es->verbose)
	{
		List	   *quals = NIL;
		ListCell   *lc;

		foreach(lc, state->quals)
			quals = lappend(quals, pgdl_qual_to_string(lfirst(lc), tupdesc, es->deparse_cxt));
		ExplainPropertyList("Python Quals", quals, es);
		ExplainPropertyList("Python Columns", names, es);
	}

	args[0] = CStringGetTextDatum(state->tabledef);
	args[1] = pgdl_quals_to_python(state->quals, NULL, NULL, tupdesc, true);
	args[2] = pgdl_text_array(names);
	args[3] = BoolGetDatum(es->verbose);
	args[4] = CStringGetTextDatum(state->plan_state);
	/* the processes that run the scan: the leader and the workers planned */
	args[5] = Int32GetDatum(1 + intVal(list_nth(plan->fdw_private, PGDL_PRIVATE_PLANNED_WORKERS)));
	lines = pgdl_call_function(pgdl_dispatch_function("_fdw_explain", 6, argtypes),
							   6, args, NULL, &isnull);
	if (!isnull)
		show_wrapper_lines(DatumGetArrayTypeP(lines), es);
}
