/*
 * plan.c
 *		Size estimates, paths and the plan of a pgdl foreign scan.
 *
 * Python answers the planning questions once per scan in the query
 * (pgdl._fdw_plan): how many rows, how wide, whether the wrapper may run in
 * a parallel worker, how many segments its rows split into, what starting
 * a participant costs, and the columns it can look rows up by (multicorn2's
 * get_path_keys).
 *
 * A scan of n > 1 segments gets a parallel-aware partial path with up to
 * n - 1 workers, beside the serial path; each participant pays its start-up
 * (a worker starts Python and builds what the wrapper needs), so small and
 * limited scans stay serial; it scales with parallel_setup_cost, and
 * parallel_setup_cost = 0 makes the parallel path win.  The participants claim segments from shared
 * memory (scan.c).  Segments in lockstep must run at once: only their
 * parallel path can win.
 *
 * A path key gives parameterized paths, as postgres_fdw's for join
 * clauses: in a nested loop, each outer row's value becomes the qual
 * `column = value` handed to Python, so a join over a keyed wrapper costs
 * what the matching rows cost.
 *
 * A plain multicorn2 class (none of pgdl's extensions) is costed as
 * multicorn2 costs it, so that its plans stay as they were there: its
 * _startup_cost to start, rows times width in all.  It may take the query's
 * ORDER BY (can_sort) and then its LIMIT and OFFSET (can_limit), as there.
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "foreign/fdwapi.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pgdl_fdw.h"

/* Per-row cost of producing a row in Python, in cpu_operator_cost units. */
#define PGDL_ROW_COST_FACTOR 100.0
/* Start-up cost of a call into Python. */
#define PGDL_STARTUP_COST 100.0
/* A lookup (rescan of a parameterized path): a call into Python and one
 * source query, about as long as producing 800 rows of a scan. */
#define PGDL_RESCAN_COST 200.0

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
	char	   *tabledef;		/* pgdl_table_definition() */
	char	   *state;			/* the wrapper's plan state, or "" */
	bool		columnar;
	double		participant_cost;	/* starting one parallel participant */
	List	   *path_keys;		/* PgdlPathKey */
	double		startup_cost;	/* >= 0: a plain multicorn2 class, costed as there */
	List	   *sort_pathkeys;	/* the order can_sort() accepted, or NIL */
	char	   *sort_keys;		/* ... as JSON sort keys */
} PgdlRelInfo;

typedef struct PgdlPathKey
{
	List	   *attnums;		/* Integer: the columns of the lookup */
	double		rows;			/* rows one lookup returns */
} PgdlPathKey;

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

/*
 * Path keys as Python gives them: keys separated by \x1e, each its fields
 * separated by \x1f: rows per lookup, then the column names.  A key naming
 * a column the table lacks is dropped.
 */
static List *
parse_path_keys(char *text, TupleDesc tupdesc)
{
	List	   *keys = NIL;
	char	   *record;
	char	   *save;

	for (record = strtok_r(text, "\x1e", &save); record; record = strtok_r(NULL, "\x1e", &save))
	{
		PgdlPathKey *key = palloc0(sizeof(PgdlPathKey));
		char	   *field;
		char	   *fields_save;
		bool		complete = true;

		field = strtok_r(record, "\x1f", &fields_save);
		key->rows = field ? Max(strtod(field, NULL), 1.0) : 1.0;
		while ((field = strtok_r(NULL, "\x1f", &fields_save)) != NULL)
		{
			AttrNumber	attnum = InvalidAttrNumber;

			for (int i = 0; i < tupdesc->natts; i++)
				if (!TupleDescAttr(tupdesc, i)->attisdropped &&
					strcmp(NameStr(TupleDescAttr(tupdesc, i)->attname), field) == 0)
					attnum = TupleDescAttr(tupdesc, i)->attnum;
			if (attnum == InvalidAttrNumber)
				complete = false;
			else
				key->attnums = lappend(key->attnums, makeInteger(attnum));
		}
		if (complete && key->attnums)
			keys = lappend(keys, key);
	}
	return keys;
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
	info->tabledef = pgdl_table_definition(relid);
	args[0] = CStringGetTextDatum(info->tabledef);
	args[1] = pgdl_quals_to_python(info->quals, NULL, NULL, tupdesc, true);
	args[2] = pgdl_text_array(pgdl_column_names(tupdesc, info->columns));
	result = pgdl_call_function(pgdl_dispatch_function("_fdw_plan", 3, argtypes),
								3, args, NULL, &isnull);
	table_close(rel, NoLock);
	if (isnull)
		elog(ERROR, "pgdl._fdw_plan returned no estimate");

	td = DatumGetHeapTupleHeader(result);
	info->rows = DatumGetFloat8(pgdl_record_field(td, "rows", &isnull));
	info->width = DatumGetInt32(pgdl_record_field(td, "width", &isnull));
	info->segments = DatumGetInt32(pgdl_record_field(td, "segments", &isnull));
	info->parallel_safe = DatumGetBool(pgdl_record_field(td, "parallel_safe", &isnull));
	info->has_source = DatumGetBool(pgdl_record_field(td, "has_source", &isnull));
	info->exchange_bytes = DatumGetInt64(pgdl_record_field(td, "exchange_bytes", &isnull));
	result = pgdl_record_field(td, "state", &isnull);
	info->state = isnull ? "" : TextDatumGetCString(result);
	info->columnar = DatumGetBool(pgdl_record_field(td, "columnar", &isnull)) && !isnull;
	/* SQL before 0.3.0 (not yet ALTER EXTENSION UPDATEd) has neither: NULL */
	result = pgdl_record_field(td, "participant_cost", &isnull);
	info->participant_cost = isnull ? 0 : DatumGetFloat8(result);
	result = pgdl_record_field(td, "path_keys", &isnull);
	if (!isnull)
		info->path_keys = parse_path_keys(TextDatumGetCString(result), tupdesc);
	/* SQL before 0.7.0: NULL */
	result = pgdl_record_field(td, "startup_cost", &isnull);
	info->startup_cost = isnull ? -1 : DatumGetFloat8(result);
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

/* generate_implied_equalities_for_column's test: is the member this column? */
static bool
member_is_column(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				 EquivalenceMember *em, void *arg)
{
	Expr	   *expr = em->em_expr;

	if (IsA(expr, RelabelType))
		expr = ((RelabelType *) expr)->arg;
	return IsA(expr, Var) && ((Var *) expr)->varno == rel->relid &&
		((Var *) expr)->varlevelsup == 0 && ((Var *) expr)->varattno == *(AttrNumber *) arg;
}

/* A join clause, movable to this scan, that Python can take as `column = value`. */
static RestrictInfo *
lookup_clause(PlannerInfo *root, RelOptInfo *baserel, AttrNumber attnum)
{
	ListCell   *lc;
	List	   *implied = NIL;

	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		PgdlQual   *qual;

		if (!join_clause_is_movable_to(rinfo, baserel))
			continue;
		qual = pgdl_extract_join_qual(root, rinfo->clause, baserel);
		if (qual && qual->attnum == attnum && strcmp(qual->opname, "=") == 0 &&
			qual->quantifier == NULL)
			return rinfo;
	}
	if (baserel->has_eclass_joins)
		implied = generate_implied_equalities_for_column(root, baserel, member_is_column,
														 &attnum, NULL);
	foreach(lc, implied)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (join_clause_is_movable_to(rinfo, baserel) &&
			pgdl_extract_join_qual(root, rinfo->clause, baserel))
			return rinfo;
	}
	return NULL;
}

/* A parameterized path per path key whose every column a join clause gives. */
static void
add_lookup_paths(PlannerInfo *root, RelOptInfo *baserel, PgdlRelInfo *info)
{
	ListCell   *lc;

	foreach(lc, info->path_keys)
	{
		PgdlPathKey *key = lfirst(lc);
		Relids		required = NULL;
		ListCell   *col;
		ParamPathInfo *param_info;
		ForeignPath *path;
		double		rows;

		foreach(col, key->attnums)
		{
			RestrictInfo *rinfo = lookup_clause(root, baserel, intVal(lfirst(col)));

			if (rinfo == NULL)
			{
				required = NULL;
				break;
			}
			required = bms_union(required, rinfo->clause_relids);
		}
		required = bms_del_members(required, baserel->relids);
		if (bms_is_empty(required))
			continue;
		param_info = get_baserel_parampathinfo(root, baserel, required);
		rows = Min(key->rows, param_info->ppi_rows);
		if (info->startup_cost >= 0)
			path = create_foreignscan_path(root, baserel, NULL, clamp_row_est(rows),
										   info->startup_cost,
										   clamp_row_est(rows) * baserel->reltarget->width,
										   NIL, required, NULL, NIL);
		else
			path = create_foreignscan_path(root, baserel, NULL, clamp_row_est(rows),
										   PGDL_RESCAN_COST,
										   PGDL_RESCAN_COST +
										   rows * cpu_operator_cost * PGDL_ROW_COST_FACTOR,
										   NIL, required, NULL, NIL);
		/* in a worker, below a Gather, each lookup would build its own session */
		if (info->participant_cost > 0)
			path->path.parallel_safe = false;
		add_path(baserel, (Path *) path);
	}
}

/*
 * multicorn2's sort pushdown: the query's ORDER BY as sort keys of this
 * table's columns, (attname, attnum, is_reversed, nulls_first, collate) in
 * JSON, or NULL when some key is not a plain column.
 */
static StringInfo
query_sort_keys(PlannerInfo *root, RelOptInfo *baserel, Oid relid, int count)
{
	StringInfo	json = makeStringInfo();
	ListCell   *lc;

	appendStringInfoChar(json, '[');
	foreach(lc, root->query_pathkeys)
	{
		PathKey    *pathkey = lfirst(lc);
		EquivalenceClass *ec = pathkey->pk_eclass;
		Var		   *var = NULL;
		ListCell   *member;
		char	   *name;

		if (ec->ec_has_volatile ||
			(pathkey->pk_strategy != BTLessStrategyNumber &&
			 pathkey->pk_strategy != BTGreaterStrategyNumber))
			return NULL;
		foreach(member, ec->ec_members)
		{
			Expr	   *expr = ((EquivalenceMember *) lfirst(member))->em_expr;

			if (expr && IsA(expr, RelabelType))
				expr = ((RelabelType *) expr)->arg;
			if (expr && IsA(expr, Var) && ((Var *) expr)->varno == baserel->relid &&
				((Var *) expr)->varlevelsup == 0 && ((Var *) expr)->varattno > 0)
			{
				var = (Var *) expr;
				break;
			}
		}
		if (var == NULL)
			return NULL;
		name = get_attname(relid, var->varattno, false);
		if (json->len > 1)
			appendStringInfoChar(json, ',');
		appendStringInfoChar(json, '[');
		escape_json(json, name);
		appendStringInfo(json, ",%d,%s,%s,", var->varattno,
						 pathkey->pk_strategy == BTGreaterStrategyNumber ? "true" : "false",
						 pathkey->pk_nulls_first ? "true" : "false");
		if (OidIsValid(ec->ec_collation) && ec->ec_collation != DEFAULT_COLLATION_OID)
			escape_json(json, get_collation_name(ec->ec_collation));
		else
			appendStringInfoString(json, "null");
		appendStringInfoChar(json, ']');
		if (foreach_current_index(lc) + 1 == count)
			break;
	}
	appendStringInfoChar(json, ']');
	return json;
}

/*
 * A path that returns rows in the query's order, as far as the wrapper's
 * can_sort() accepts the sort keys: PostgreSQL sorts no more than the rest.
 */
static void
add_sorted_path(PlannerInfo *root, RelOptInfo *baserel, Oid relid, PgdlRelInfo *info)
{
	StringInfo	keys;
	char	   *accepted;
	int			count;
	List	   *pathkeys = NIL;
	ForeignPath *path;

	if (root->query_pathkeys == NIL ||
		(keys = query_sort_keys(root, baserel, relid, -1)) == NULL)
		return;
	accepted = pgdl_call_hook(info->tabledef, "can_sort", keys->data);
	count = accepted ? atoi(accepted) : 0;
	if (count <= 0)
		return;
	pathkeys = list_truncate(list_copy(root->query_pathkeys), count);
	keys = query_sort_keys(root, baserel, relid, count);
	info->sort_pathkeys = pathkeys;
	info->sort_keys = keys->data;
	path = create_foreignscan_path(root, baserel, NULL, baserel->rows, info->startup_cost,
								   baserel->rows * baserel->reltarget->width,
								   pathkeys, NULL, NULL,
								   list_make1(makeString(psprintf("{\"sortkeys\": %s}",
																  keys->data))));
	add_path(baserel, (Path *) path);
}

/*
 * A LIMIT or OFFSET that is a constant, not negative: its value, or -1 when
 * the query has none (or NULL, which limits nothing).  False for anything
 * else, which stays with PostgreSQL's Limit node (and its errors).
 */
static bool
limit_value(Node *node, int64 *value)
{
	*value = -1;
	if (node == NULL)
		return true;
	if (!IsA(node, Const))
		return false;
	if (((Const *) node)->constisnull)
		return true;
	*value = DatumGetInt64(((Const *) node)->constvalue);
	return *value >= 0;
}

/*
 * multicorn2's LIMIT pushdown: a query that reads one plain class's table,
 * with no WHERE (the class's filtering is only a hint, so PostgreSQL must
 * see every row) and an ORDER BY the class returns whole, asks can_limit();
 * when it agrees, the scan itself is the final path, with `limit` and
 * `offset` handed to execute(), and no Limit node above it.
 */
static void
add_limited_path(PlannerInfo *root, RelOptInfo *scan, RelOptInfo *final_rel,
				 FinalPathExtraData *extra, bool ordered)
{
	Query	   *parse = root->parse;
	PgdlRelInfo *info = scan->fdw_private;
	int64		limit;
	int64		offset;
	StringInfoData state;
	char	   *answer;
	double		rows;
	ForeignPath *path;

	if (!extra->limit_needed || parse->commandType != CMD_SELECT ||
		parse->limitOption == LIMIT_OPTION_WITH_TIES || parse->hasTargetSRFs ||
		parse->rowMarks != NIL || scan->baserestrictinfo != NIL ||
		info == NULL || info->startup_cost < 0 ||
		!limit_value(parse->limitCount, &limit) || !limit_value(parse->limitOffset, &offset))
		return;
	answer = pgdl_call_hook(info->tabledef, "can_limit",
							psprintf("[%s, %s]",
									 limit < 0 ? "null" : psprintf(INT64_FORMAT, limit),
									 offset < 0 ? "null" : psprintf(INT64_FORMAT, offset)));
	if (answer == NULL || strcmp(answer, "1") != 0)
		return;

	initStringInfo(&state);
	appendStringInfo(&state, "{\"sortkeys\": %s",
					 ordered && info->sort_keys ? info->sort_keys : "[]");
	if (limit >= 0)
		appendStringInfo(&state, ", \"limit\": " INT64_FORMAT, limit);
	if (offset >= 0)
		appendStringInfo(&state, ", \"offset\": " INT64_FORMAT, offset);
	appendStringInfoChar(&state, '}');

	rows = scan->rows - Max(offset, 0);
	if (limit >= 0)
		rows = Min(rows, (double) limit);
	rows = clamp_row_est(rows);
	/* as multicorn2 costs it: the class's start-up, then rows times width */
	path = create_foreignscan_path(root, scan, root->upper_targets[UPPERREL_FINAL], rows,
								   info->startup_cost, rows * info->width,
								   ordered ? root->sort_pathkeys : NIL, NULL, NULL,
								   list_make1(makeString(state.data)));
	add_path(final_rel, (Path *) path);
}

/*
 * The ordered rel of a query over one plain class's table remembers that
 * table when the class returns the whole ORDER BY; the final rel then
 * offers the scan with the LIMIT pushed into it.
 */
void
pgdlGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
						 RelOptInfo *input_rel, RelOptInfo *output_rel, void *extra)
{
	RelOptInfo *scan;

	if (stage == UPPERREL_ORDERED)
	{
		PgdlRelInfo *info = input_rel->fdw_private;

		if (input_rel->reloptkind == RELOPT_BASEREL && info && info->startup_cost >= 0 &&
			pathkeys_contained_in(root->sort_pathkeys, info->sort_pathkeys))
			output_rel->fdw_private = input_rel;
		return;
	}
	if (stage != UPPERREL_FINAL)
		return;
	if (input_rel->reloptkind == RELOPT_BASEREL)
		scan = input_rel;
	else if (input_rel->reloptkind == RELOPT_UPPER_REL && input_rel->fdw_private)
		scan = (RelOptInfo *) input_rel->fdw_private;
	else
		return;
	add_limited_path(root, scan, output_rel, (FinalPathExtraData *) extra, scan != input_rel);
}

void
pgdlGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	PgdlRelInfo *info = rel_info(root, baserel, foreigntableid);
	Cost		run_cost = baserel->rows * cpu_operator_cost * PGDL_ROW_COST_FACTOR;
	int			workers = Min(info->segments - 1, max_parallel_workers_per_gather);
	bool		parallel;
	bool		forced;
	ForeignPath *path;

	/* Segments in lockstep each need a process of their own: all workers. */
	if (info->exchange_bytes > 0)
		workers = info->segments - 1;
	parallel = workers > 0 && baserel->consider_parallel;

	/*
	 * A wrapper that does not say what a participant costs asks for parallel
	 * execution by asking for segments, as lockstep segments must: keep the
	 * serial path for contexts where no Gather can go, and make it lose
	 * everywhere else.
	 */
	forced = parallel && (info->exchange_bytes > 0 || info->participant_cost <= 0);
	if (info->startup_cost >= 0)
		path = create_foreignscan_path(root, baserel, NULL, baserel->rows, info->startup_cost,
									   baserel->rows * baserel->reltarget->width,
									   NIL, NULL, NULL, NIL);
	else
		path = create_foreignscan_path(root, baserel, NULL, baserel->rows,
									   PGDL_STARTUP_COST,
									   PGDL_STARTUP_COST + run_cost + (forced ? disable_cost : 0),
									   NIL, NULL, NULL, NIL);
	/*
	 * Run whole in each worker below a Gather (the inner side of a join),
	 * a scan that costs its participants would start and score everything
	 * once per worker: such a scan runs in the leader, or as its own
	 * partial path.
	 */
	if (info->participant_cost > 0)
		path->path.parallel_safe = false;
	add_path(baserel, (Path *) path);

	if (parallel)
	{
		double		participants = workers + 1;
		/* what the wrapper says, at the default parallel_setup_cost (1000) */
		Cost		startup = PGDL_STARTUP_COST +
			Max(info->participant_cost, 0) * parallel_setup_cost / 1000.0;

		path = create_foreignscan_path(root, baserel, NULL, baserel->rows / participants,
									   startup, startup + run_cost / participants,
									   NIL, NULL, NULL, NIL);
		path->path.parallel_aware = true;
		path->path.parallel_safe = true;
		path->path.parallel_workers = workers;
		add_partial_path(baserel, (Path *) path);
	}
	if (info->exchange_bytes <= 0)
		add_lookup_paths(root, baserel, info);
	if (info->startup_cost >= 0)
		add_sorted_path(root, baserel, foreigntableid, info);
}

ForeignScan *
pgdlGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses,
				   Plan *outer_plan)
{
	PgdlRelInfo *info = rel_info(root, baserel, foreigntableid);
	List	   *handed = info->quals;
	int			segments = info->segments;
	List	   *exprs;
	List	   *quals;
	List	   *private;
	ListCell   *lc;

	/* A lookup: the join clauses become quals whose values come from outside. */
	if (best_path->path.param_info)
	{
		handed = list_copy(handed);
		foreach(lc, best_path->path.param_info->ppi_clauses)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
			PgdlQual   *qual = pgdl_extract_join_qual(root, rinfo->clause, baserel);

			if (qual)
				handed = lappend(handed, qual);
		}
		segments = 1;
	}
	/* A serial plan of a wrapper that costs its participants: one segment, one pass. */
	if (!best_path->path.parallel_aware && info->exchange_bytes <= 0 &&
		info->participant_cost > 0)
		segments = 1;
	quals = pgdl_quals_to_private(handed, &exprs);
	/* as multicorn2: the width the class gave, whatever the target list */
	if (info->startup_cost >= 0)
		best_path->path.pathtarget->width = info->width;

	/* PostgreSQL rechecks every qual: Python's filtering is an optimization. */
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	private = list_make5(quals, info->columns, makeInteger(segments),
						 makeInteger(best_path->path.parallel_workers),
						 makeInteger(info->has_source));
	private = lappend(private, makeString(psprintf(INT64_FORMAT, info->exchange_bytes)));
	/* a sorted path: the sort keys handed to execute() (a plain class has no state) */
	private = lappend(private, makeString(best_path->fdw_private != NIL
										  ? strVal(linitial(best_path->fdw_private))
										  : pstrdup(info->state)));
	private = lappend(private, makeInteger(info->columnar));
	return make_foreignscan(tlist, scan_clauses, baserel->relid, exprs, private,
							NIL, NIL, outer_plan);
}
