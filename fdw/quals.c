/*
 * quals.c
 *		Which restrictions Python sees, and how their values cross over.
 *
 * Handed to Python: `column op value` for any binary operator, `column op
 * ANY/ALL (array)`, `column IS [NOT] NULL`, `column IS [NOT] TRUE / FALSE /
 * UNKNOWN` (operator "IS" or "IS NOT", value True, False or None), and a
 * boolean column on its own (`column = true`) or negated (`column = false`),
 * where value is an expression without Vars, volatile functions or subplans
 * (a constant, a query parameter, an array of them).  Everything else stays
 * local.  Python may use a qual to skip rows; PostgreSQL rechecks every qual
 * either way, so a wrapper that ignores them is still correct.
 */
#include "postgres.h"

#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"

#include "pgdl_fdw.h"

static Var *
own_column(Node *node, Index relid)
{
	if (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node && IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno == relid && var->varlevelsup == 0 && var->varattno > 0)
			return var;
	}
	return NULL;
}

/*
 * A value Python can be handed: no columns (of a join clause: none of this
 * scan's, the others' become parameters of a nested loop), no volatile
 * functions, no subplans.
 */
static bool
is_value(Node *node, PlannerInfo *root, Index relid)
{
	if (node == NULL || contain_volatile_functions(node) || contain_subplans(node))
		return false;
	if (root == NULL)
		return !contain_var_clause(node);
	return !bms_is_member(relid, pull_varnos(root, node)) &&
		!contain_vars_of_level((Node *) node, 1);
}

static PgdlQual *
make_qual(AttrNumber attnum, Oid opno, const char *quantifier, Node *value)
{
	PgdlQual   *qual = palloc0(sizeof(PgdlQual));
	char	   *opname = get_opname(opno);

	if (opname == NULL)
		return NULL;
	qual->attnum = attnum;
	qual->opname = opname;
	qual->quantifier = quantifier ? pstrdup(quantifier) : NULL;
	qual->value = (Expr *) value;
	return qual;
}

static PgdlQual *
extract_qual(Expr *clause, Index relid, PlannerInfo *root)
{
	/* A boolean column on its own is `column = true`; NOT column is `= false`. */
	{
		bool		negated = is_notclause(clause);
		Node	   *arg = negated ? (Node *) get_notclausearg(clause) : (Node *) clause;
		Var		   *var = own_column(arg, relid);

		if (var && var->vartype == BOOLOID)
			return make_qual(var->varattno, BooleanEqualOperator, NULL,
							 makeBoolConst(!negated, false));
	}
	if (IsA(clause, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) clause;
		Node	   *left,
				   *right;
		Var		   *var;

		if (list_length(op->args) != 2)
			return NULL;
		left = linitial(op->args);
		right = lsecond(op->args);
		if ((var = own_column(left, relid)) && is_value(right, root, relid))
			return make_qual(var->varattno, op->opno, NULL, right);
		if ((var = own_column(right, relid)) && is_value(left, root, relid))
		{
			Oid			commutator = get_commutator(op->opno);

			if (OidIsValid(commutator))
				return make_qual(var->varattno, commutator, NULL, left);
		}
		return NULL;
	}
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;
		Var		   *var = own_column(linitial(saop->args), relid);
		Node	   *array = lsecond(saop->args);

		if (var && is_value(array, root, relid))
			return make_qual(var->varattno, saop->opno, saop->useOr ? "any" : "all", array);
		return NULL;
	}
	if (IsA(clause, BooleanTest))
	{
		/* as multicorn2: ("IS" | "IS NOT", true | false | None) */
		BooleanTest *test = (BooleanTest *) clause;
		Var		   *var = own_column((Node *) test->arg, relid);
		BoolTestType type = test->booltesttype;
		PgdlQual   *qual;

		if (!var)
			return NULL;
		qual = palloc0(sizeof(PgdlQual));
		qual->attnum = var->varattno;
		qual->opname = pstrdup(type == IS_TRUE || type == IS_FALSE || type == IS_UNKNOWN
							   ? "IS" : "IS NOT");
		if (type != IS_UNKNOWN && type != IS_NOT_UNKNOWN)
			qual->value = (Expr *) makeBoolConst(type == IS_TRUE || type == IS_NOT_TRUE, false);
		return qual;
	}
	if (IsA(clause, NullTest))
	{
		NullTest   *test = (NullTest *) clause;
		Var		   *var = own_column((Node *) test->arg, relid);
		PgdlQual   *qual;

		if (!var || test->argisrow)
			return NULL;
		qual = palloc0(sizeof(PgdlQual));
		qual->attnum = var->varattno;
		qual->opname = pstrdup(test->nulltesttype == IS_NULL ? "=" : "<>");
		return qual;
	}
	return NULL;
}

List *
pgdl_extract_quals(PlannerInfo *root, RelOptInfo *baserel)
{
	List	   *quals = NIL;
	ListCell   *lc;

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		PgdlQual   *qual;

		if (rinfo->pseudoconstant)
			continue;
		qual = extract_qual(rinfo->clause, baserel->relid, NULL);
		if (qual)
			quals = lappend(quals, qual);
	}
	return quals;
}

/* A join clause as a qual on this scan, its other side's columns parameters. */
PgdlQual *
pgdl_extract_join_qual(PlannerInfo *root, Expr *clause, RelOptInfo *baserel)
{
	return extract_qual(clause, baserel->relid, root);
}

/*
 * Plan-tree form: each qual is [attnum, opname, quantifier, value index],
 * and the value expressions go to fdw_exprs so that setrefs fixes Params.
 */
List *
pgdl_quals_to_private(List *quals, List **exprs)
{
	List	   *private = NIL;
	ListCell   *lc;

	*exprs = NIL;
	foreach(lc, quals)
	{
		PgdlQual   *qual = lfirst(lc);
		int			index = -1;

		if (qual->value)
		{
			index = list_length(*exprs);
			*exprs = lappend(*exprs, qual->value);
		}
		private = lappend(private,
						  list_make4(makeInteger(qual->attnum),
									 makeString(qual->opname),
									 makeString(qual->quantifier ? qual->quantifier : ""),
									 makeInteger(index)));
	}
	return private;
}

List *
pgdl_quals_from_private(List *private, List *exprs)
{
	List	   *quals = NIL;
	ListCell   *lc;

	foreach(lc, private)
	{
		List	   *item = lfirst(lc);
		PgdlQual   *qual = palloc0(sizeof(PgdlQual));
		char	   *quantifier = strVal(lthird(item));
		int			index = intVal(lfourth(item));

		qual->attnum = intVal(linitial(item));
		qual->opname = strVal(lsecond(item));
		qual->quantifier = quantifier[0] ? quantifier : NULL;
		qual->value = index >= 0 ? list_nth(exprs, index) : NULL;
		quals = lappend(quals, qual);
	}
	return quals;
}

static bool
has_vars_or_params(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, Param) || IsA(node, PlaceHolderVar))
		return true;
	return expression_tree_walker(node, has_vars_or_params, context);
}

/* The SQL of a value the plan does not know, for EXPLAIN: $n, or what it computes. */
static char *
value_text(Node *value)
{
	if (IsA(value, Param) && ((Param *) value)->paramkind == PARAM_EXTERN)
		return psprintf("$%d", ((Param *) value)->paramid);
	if (!has_vars_or_params(value, NULL))
		return deparse_expression(value, NIL, false, false);
	return pstrdup("(a value of the outer query)");
}

/*
 * The quals as a pgdl.datum[] for Python: one row per qual with the column
 * name, operator, quantifier and the value in its natural Python type.
 * values/isnulls hold the evaluated value of each qual; with only_constants
 * (planning, EXPLAIN) they are NULL, and a qual whose value is not a Const
 * carries the value's SQL text and a quantifier ending in "?".
 */
Datum
pgdl_quals_to_python(List *quals, Datum *values, bool *isnulls,
					 TupleDesc tupdesc, bool only_constants)
{
	List	   *rows = NIL;
	ListCell   *lc;

	foreach(lc, quals)
	{
		PgdlQual   *qual = lfirst(lc);
		int			i = foreach_current_index(lc);
		Form_pg_attribute att = TupleDescAttr(tupdesc, qual->attnum - 1);
		Datum		value = (Datum) 0;
		bool		isnull = true;
		Oid			typid = InvalidOid;

		if (qual->value)
		{
			typid = exprType((Node *) qual->value);
			if (only_constants && !IsA(qual->value, Const))
			{
				/*
				 * A parameter (or a stable expression): its text, marked by
				 * a trailing "?" on the quantifier, so that a wrapper can
				 * plan for a value it learns at executor start.
				 */
				char	   *text = value_text((Node *) qual->value);

				rows = lappend(rows,
							   DatumGetPointer(pgdl_datum_row(NameStr(att->attname), qual->opname,
															  psprintf("%s?", qual->quantifier ? qual->quantifier : ""),
															  TEXTOID, CStringGetTextDatum(text),
															  false)));
				continue;
			}
			if (only_constants)
			{
				value = ((Const *) qual->value)->constvalue;
				isnull = ((Const *) qual->value)->constisnull;
			}
			else
			{
				value = values[i];
				isnull = isnulls[i];
			}
		}
		rows = lappend(rows,
					   DatumGetPointer(pgdl_datum_row(NameStr(att->attname), qual->opname,
													  qual->quantifier, typid, value, isnull)));
	}
	return pgdl_datum_array(rows);
}

/* "col op value" as EXPLAIN VERBOSE shows what Python was handed. */
char *
pgdl_qual_to_string(PgdlQual *qual, TupleDesc tupdesc, List *dpcontext)
{
	const char *column = quote_identifier(NameStr(TupleDescAttr(tupdesc, qual->attnum - 1)->attname));
	char	   *value;

	if (qual->value == NULL && strncmp(qual->opname, "IS", 2) == 0)
		return psprintf("%s %s UNKNOWN", column, qual->opname);
	if (qual->value == NULL)
		return psprintf("%s %s", column,
						strcmp(qual->opname, "=") == 0 ? "IS NULL" : "IS NOT NULL");
	value = deparse_expression((Node *) qual->value, dpcontext, false, false);
	if (qual->quantifier)
		return psprintf("%s %s %s (%s)", column, qual->opname,
						strcmp(qual->quantifier, "any") == 0 ? "ANY" : "ALL", value);
	return psprintf("%s %s %s", column, qual->opname, value);
}
