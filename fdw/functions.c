/*
 * functions.c
 *		SQL functions of pgdl written in Python.
 *
 * A user-facing function pgdl.f is a C trampoline that calls the PL/Python
 * function pgdl._f with the same arguments (and, for a set-returning
 * function, the same result set protocol).  Through it, Python's errors
 * reach the client with their own message, as the foreign tables' do, and
 * pgdl._f itself stays executable by nobody.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "pgdl_fdw.h"

typedef struct Trampoline
{
	FmgrInfo	inner;
} Trampoline;

static Oid
inner_function(Oid outer)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(outer));
	Form_pg_proc proc;
	char	   *name;
	Oid			inner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", outer);
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	name = psprintf("_%s", NameStr(proc->proname));
	inner = pgdl_dispatch_function(name, proc->pronargs, proc->proargtypes.values);
	ReleaseSysCache(tuple);
	return inner;
}

PG_FUNCTION_INFO_V1(pgdl_trampoline);

Datum
pgdl_trampoline(PG_FUNCTION_ARGS)
{
	Trampoline *trampoline = fcinfo->flinfo->fn_extra;
	LOCAL_FCINFO(inner, FUNC_MAX_ARGS);
	Datum		result;

	if (trampoline == NULL)
	{
		trampoline = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(Trampoline));
		fmgr_info_cxt(inner_function(fcinfo->flinfo->fn_oid), &trampoline->inner,
					  fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = trampoline;
	}
	pgdl_ensure_python();
	InitFunctionCallInfoData(*inner, &trampoline->inner, fcinfo->nargs, fcinfo->fncollation,
							 fcinfo->context, fcinfo->resultinfo);
	for (int i = 0; i < fcinfo->nargs; i++)
		inner->args[i] = fcinfo->args[i];
	result = pgdl_invoke(inner);
	fcinfo->isnull = inner->isnull;
	return result;
}
