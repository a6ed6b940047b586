/*
 * plan.c
 *		Size estimates, paths and the plan of a pgdl foreign scan.
 *
 * Python answers the planning questions once per scan in the query
 * (pgdl._fdw_plan): how many rows, how wide, whether the wrapper may run in
 * a parallel worker, and how many segments its rows split into.  A scan of
 * n > 1 segments gets a parallel-aware partial path with up to n - 1
 * workers; the participants claim segments from shared memory (scan.c).
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "foreign/fdwapi.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pgdl_fdw.h"

/* Per-row cost of producing a row in Python, in cpu_operator_cost units. */
#define PGDL_ROW_COST_FACTOR 100.0
/* Start-up cost of a call into Python. */
#define PGDL_STARTUP_COST 100.0

typedef struct PgdlRelInfo
{
	List	   *quals;			/* PgdlQual */
	List	   *columns;		/* Integer attnums */
	double		rows;
	int			width;
	int			segments;
	bool		parallel_safe;
	bool		has_source;
	int64		exchange_bytes;
	char	   *state;			/* the wrapper's plan state, or "" */
	bool		columnar;
} PgdlRelInfo;

/* Columns the query reads: its target list and every restriction. */
static List *
needed_columns(RelOptInfo *baserel, TupleDesc tupdesc)
{
	Bitmapset  *attrs = NULL;
	List	   *columns = NIL;
	ListCell   *lc;
	bool		whole_row;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	foreach(lc, baserel->baserestrictinfo)
		pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause, baserel->relid, &attrs);
	whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs);

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		if (whole_row ||
			bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, attrs))
			columns = lappend(columns, makeInteger(att->attnum));
	}
	return columns;
}

static PgdlRelInfo *
rel_info(PlannerInfo *root, RelOptInfo *baserel, Oid relid)
{
	PgdlRelInfo *info = baserel->fdw_private;
	Relation	rel;
	TupleDesc	tupdesc;
	Oid			argtypes[3];
	Datum		args[3];
	Datum		result;
	HeapTupleHeader td;
	bool		isnull;

	if (info)
		return info;

	info = palloc0(sizeof(PgdlRelInfo));
	rel = table_open(relid, NoLock);
	tupdesc = RelationGetDescr(rel);
	info->quals = pgdl_extract_quals(root, baserel);
	info->columns = needed_columns(baserel, tupdesc);

	argtypes[0] = TEXTOID;
	argtypes[1] = pgdl_datum_array_type();
	argtypes[2] = TEXTARRAYOID;
	args[0] = CStringGetTextDatum(pgdl_table_definition(relid));
	args[1] = pgdl_quals_to_python(info->quals, NULL, NULL, tupdesc, true);
	args[2] = pgdl_text_array(pgdl_column_names(tupdesc, info->columns));
	result = pgdl_call_function(pgdl_dispatch_function("_fdw_plan", 3, argtypes),
								3, args, NULL, &isnull);
	table_close(rel, NoLock);
	if (isnull)
		elog(ERROR, "pgdl._fdw_plan returned no estimate");

	td = DatumGetHeapTupleHeader(result);
	info->rows = DatumGetFloat8(GetAttributeByNum(td, 1, &isnull));
	info->width = DatumGetInt32(GetAttributeByNum(td, 2, &isnull));
	info->segments = DatumGetInt32(GetAttributeByNum(td, 3, &isnull));
	info->parallel_safe = DatumGetBool(GetAttributeByNum(td, 4, &isnull));
	info->has_source = DatumGetBool(GetAttributeByNum(td, 5, &isnull));
	info->exchange_bytes = DatumGetInt64(GetAttributeByNum(td, 6, &isnull));
	result = GetAttributeByNum(td, 7, &isnull);
	info->state = isnull ? "" : TextDatumGetCString(result);
	info->columnar = DatumGetBool(GetAttributeByNum(td, 8, &isnull)) && !isnull;
	info->rows = clamp_row_est(info->rows);
	info->segments = Max(info->segments, 1);
	if (info->segments > PGDL_MAX_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("foreign table \"%s\" asks for %d segments", get_rel_name(relid),
						info->segments),
				 errhint("Use 1 to %d segments.", PGDL_MAX_SEGMENTS)));
	if (info->exchange_bytes > 0)
		(void) pgdl_exchange_size(info->segments, info->exchange_bytes);	/* checks both */

	baserel->fdw_private = info;
	return info;
}

bool
pgdlIsForeignScanParallelSafe(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	return rel_info(root, rel, rte->relid)->parallel_safe;
}

void
pgdlGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	PgdlRelInfo *info = rel_info(root, baserel, foreigntableid);

	baserel->rows = info->rows;
	baserel->reltarget->width = info->width;
}

void
pgdlGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	PgdlRelInfo *info = rel_info(root, baserel, foreigntableid);
	Cost		run_cost = baserel->rows * cpu_operator_cost * PGDL_ROW_COST_FACTOR;
	int			workers = Min(info->segments - 1, max_parallel_workers_per_gather);
	bool		parallel;
	ForeignPath *path;

	/* Segments in lockstep each need a process of their own: all workers. */
	if (info->exchange_bytes > 0)
		workers = info->segments - 1;
	parallel = workers > 0 && baserel->consider_parallel;

	/*
	 * Asking for segments asks for parallel execution: keep the serial path
	 * for contexts where no Gather can go, and make it lose everywhere else.
	 */
	path = create_foreignscan_path(root, baserel, NULL, baserel->rows,
								   PGDL_STARTUP_COST,
								   PGDL_STARTUP_COST + run_cost + (parallel ? disable_cost : 0),
								   NIL, NULL, NULL, NIL);
	add_path(baserel, (Path *) path);

	if (parallel)
	{
		double		participants = workers + 1;

		path = create_foreignscan_path(root, baserel, NULL, baserel->rows / participants,
									   PGDL_STARTUP_COST,
									   PGDL_STARTUP_COST + run_cost / participants,
									   NIL, NULL, NULL, NIL);
		path->path.parallel_aware = true;
		path->path.parallel_safe = true;
		path->path.parallel_workers = workers;
		add_partial_path(baserel, (Path *) path);
	}
}

ForeignScan *
pgdlGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses,
				   Plan *outer_plan)
{
	PgdlRelInfo *info = rel_info(root, baserel, foreigntableid);
	List	   *exprs;
	List	   *quals = pgdl_quals_to_private(info->quals, &exprs);
	List	   *private;

	/* PostgreSQL rechecks every qual: Python's filtering is an optimization. */
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	private = list_make5(quals, info->columns, makeInteger(info->segments),
						 makeInteger(best_path->path.parallel_workers),
						 makeInteger(info->has_source));
	private = lappend(private, makeString(psprintf(INT64_FORMAT, info->exchange_bytes)));
	private = lappend(private, makeString(pstrdup(info->state)));
	private = lappend(private, makeInteger(info->columnar));
	return make_foreignscan(tlist, scan_clauses, baserel->relid, exprs, private,
							NIL, NIL, outer_plan);
}
