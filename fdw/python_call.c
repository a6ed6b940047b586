/*
 * python_call.c
 *		Calls into the PL/Python dispatcher functions pgdl._fdw_*.
 *
 * A scan calls a set-returning PL/Python function directly through fmgr in
 * value-per-call mode, so rows stream one at a time from a Python generator
 * and a scan that stops early (LIMIT, an error, a cancel) closes the
 * generator.  The row type is the foreign table's, handed over as the
 * expected descriptor of a function returning SETOF record.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "pgdl_fdw.h"

/*
 * An internal function of pgdl, in schema pgdl_internal (schema pgdl before
 * version 0.2.0).  Found without a privilege check: nobody but pgdl may
 * use that schema or execute those functions.
 */
static Oid
find_function(const char *name, int nargs, Oid *argtypes, bool missing_ok)
{
	Oid			namespace = get_namespace_oid("pgdl_internal", true);
	oidvector  *args = buildoidvector(argtypes, nargs);
	Oid			fnoid = InvalidOid;

	if (OidIsValid(namespace))
		fnoid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name),
								PointerGetDatum(args), ObjectIdGetDatum(namespace));
	if (!OidIsValid(fnoid))
		fnoid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name),
								PointerGetDatum(args),
								ObjectIdGetDatum(get_namespace_oid("pgdl", false)));
	if (!OidIsValid(fnoid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("internal function %s of pgdl is missing", name),
				 errhint("ALTER EXTENSION pgdl UPDATE, or reinstall the extension.")));
	return fnoid;
}

Oid
pgdl_dispatch_function(const char *name, int nargs, Oid *argtypes)
{
	return find_function(name, nargs, argtypes, false);
}

/*
 * How much of a PL/Python error message is only the Python class of the
 * exception: "plpy.Error: " (raised by pgdl through plpy.error) and
 * "spiexceptions.QueryCanceled: " (an error of SQL run through plpy) say
 * nothing to a user.
 */
static size_t
python_prefix(const char *message)
{
	static const char plpy_error[] = "plpy.Error: ";
	static const char spi[] = "spiexceptions.";
	const char *end;

	if (strncmp(message, plpy_error, strlen(plpy_error)) == 0)
		return strlen(plpy_error);
	if (strncmp(message, spi, strlen(spi)) == 0 && (end = strstr(message, ": ")) != NULL)
		return end - message + 2;
	return 0;
}

/*
 * Calls a PL/Python function; an error it raises keeps everything (SQLSTATE,
 * detail, hint, the Python traceback as context) but the prefix above.
 */
Datum
pgdl_invoke(FunctionCallInfo fcinfo)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	PG_TRY();
	{
		result = FunctionCallInvoke(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		size_t		prefix;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		prefix = edata->message ? python_prefix(edata->message) : 0;
		if (prefix > 0)
		{
			FlushErrorState();
			/* raised on purpose, or a PostgreSQL error: the traceback is noise */
			edata->context = NULL;
			edata->message = pstrdup(edata->message + prefix);
			ReThrowError(edata);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	return result;
}

/* Whether this process has started pgdl's Python: it then JITs nothing (handler.c). */
bool		pgdl_python_loaded = false;

/* Loads pgdl.dispatch into this backend's Python, once. */
void
pgdl_ensure_python(void)
{
	static bool ready = false;
	Oid			argtypes[1] = {TEXTOID};

	if (ready)
		return;
	/* first: the SQL the boot runs must not JIT either */
	pgdl_python_loaded = true;
	OidFunctionCall1(pgdl_dispatch_function("_python_boot", 1, argtypes),
					 CStringGetTextDatum(pgdl_site_packages_path()));
	ready = true;
}

/*
 * Asks a wrapper class (pgdl.dispatch.hook); NULL when it answers nothing,
 * or when the database's pgdl predates hooks (0.7.0).
 */
char *
pgdl_call_hook(const char *tabledef, const char *hook, const char *argument)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Oid			fnoid = find_function("_fdw_hook", 3, argtypes, true);
	Datum		args[3];
	bool		nulls[3] = {false, false, argument == NULL};
	Datum		result;
	bool		isnull;

	if (!OidIsValid(fnoid))
		return NULL;
	args[0] = CStringGetTextDatum(tabledef);
	args[1] = CStringGetTextDatum(hook);
	args[2] = argument ? CStringGetTextDatum(argument) : (Datum) 0;
	result = pgdl_call_function(fnoid, 3, args, nulls, &isnull);
	return isnull ? NULL : TextDatumGetCString(result);
}

/* Calls a plain (not set-returning) dispatcher function. */
Datum
pgdl_call_function(Oid fnoid, int nargs, Datum *args, bool *nulls, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
	FmgrInfo	flinfo;
	Datum		result;

	pgdl_ensure_python();
	fmgr_info(fnoid, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, nargs, InvalidOid, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = nulls ? nulls[i] : false;
	}
	result = pgdl_invoke(fcinfo);
	/* Python ends a call quietly when it sees a cancel; raise it here. */
	CHECK_FOR_INTERRUPTS();
	*isnull = fcinfo->isnull;
	return result;
}

/* A blessed RECORD copy of a relation's descriptor, as PL/Python expects. */
TupleDesc
pgdl_record_desc(TupleDesc reldesc)
{
	TupleDesc	desc = CreateTupleDescCopy(reldesc);

	desc->tdtypeid = RECORDOID;
	desc->tdtypmod = -1;
	return BlessTupleDesc(desc);
}

PgdlCall *
pgdl_call_begin(Oid fnoid, int nargs, Datum *args, bool *nulls,
				TupleDesc expected, EState *estate)
{
	PgdlCall   *call = palloc0(sizeof(PgdlCall));

	pgdl_ensure_python();
	fmgr_info(fnoid, &call->flinfo);
	call->fcinfo = palloc0(SizeForFunctionCallInfo(nargs));
	call->econtext = CreateExprContext(estate);

	call->rsinfo.type = T_ReturnSetInfo;
	call->rsinfo.econtext = call->econtext;
	call->rsinfo.expectedDesc = expected;
	call->rsinfo.allowedModes = SFRM_ValuePerCall;
	call->rsinfo.returnMode = SFRM_ValuePerCall;

	InitFunctionCallInfoData(*call->fcinfo, &call->flinfo, nargs, InvalidOid,
							 NULL, (Node *) &call->rsinfo);
	for (int i = 0; i < nargs; i++)
	{
		call->fcinfo->args[i].value = args[i];
		call->fcinfo->args[i].isnull = nulls ? nulls[i] : false;
	}
	return call;
}

/*
 * PL/Python reports any exception raised while iterating a set-returning
 * function as "error fetching next item from iterator", losing its message.
 * So the dispatcher's generators end quietly instead, keeping the error,
 * which is raised here as it was meant.
 */
void
pgdl_raise_pending_error(void)
{
	Datum		result;
	bool		isnull;
	HeapTupleHeader td;
	char	   *fields[5];

	result = pgdl_call_function(pgdl_dispatch_function("_fdw_take_error", 0, NULL),
								0, NULL, NULL, &isnull);
	if (isnull)
		return;
	td = DatumGetHeapTupleHeader(result);
	for (int i = 0; i < 5; i++)
	{
		static const char *const names[] = {"message", "detail", "hint", "sqlstate", "context"};
		Datum		field = pgdl_record_field(td, names[i], &isnull);

		fields[i] = isnull ? NULL : TextDatumGetCString(field);
	}
	ereport(ERROR,
			(errcode(fields[3] && strlen(fields[3]) == 5 ?
					 MAKE_SQLSTATE(fields[3][0], fields[3][1], fields[3][2],
								   fields[3][3], fields[3][4]) :
					 ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg_internal("%s", fields[0]),
			 fields[1] ? errdetail_internal("%s", fields[1]) : 0,
			 fields[2] ? errhint("%s", fields[2]) : 0,
			 fields[4] ? errcontext("%s", fields[4]) : 0));
}

/*
 * The next value of a set-returning call, in CurrentMemoryContext; false
 * when the function is done.
 */
bool
pgdl_call_next_value(PgdlCall *call, Datum *value, bool *isnull)
{
	if (call->done)
		return false;

	call->rsinfo.isDone = ExprSingleResult;
	call->fcinfo->isnull = false;
	*value = pgdl_invoke(call->fcinfo);
	if (call->rsinfo.isDone == ExprEndResult)
	{
		call->done = true;
		pgdl_raise_pending_error();
		return false;
	}
	if (call->rsinfo.isDone != ExprMultipleResult)
		elog(ERROR, "pgdl dispatcher function did not return a set");
	*isnull = call->fcinfo->isnull;
	return true;
}

/*
 * Stores the next row into slot; false when the function is done.  The row
 * lives in CurrentMemoryContext, which the caller resets between rows.
 */
bool
pgdl_call_next(PgdlCall *call, TupleTableSlot *slot)
{
	Datum		result;
	bool		isnull;

	ExecClearTuple(slot);
	if (!pgdl_call_next_value(call, &result, &isnull))
		return false;
	pgdl_store_record(slot, result, isnull);
	return true;
}

/* Stores a composite value (a row of slot's type) into slot, as a virtual tuple. */
void
pgdl_store_record(TupleTableSlot *slot, Datum record, bool isnull)
{
	ExecClearTuple(slot);
	if (isnull)
		ExecStoreAllNullTuple(slot);
	else
	{
		HeapTupleHeader td = DatumGetHeapTupleHeader(record);
		HeapTupleData tuple;

		tuple.t_len = HeapTupleHeaderGetDatumLength(td);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = td;
		heap_deform_tuple(&tuple, slot->tts_tupleDescriptor, slot->tts_values, slot->tts_isnull);
		ExecStoreVirtualTuple(slot);
	}
}

/* Ends a call; a generator still running is closed by PL/Python's clean-up. */
void
pgdl_call_end(PgdlCall *call)
{
	if (call == NULL)
		return;
	FreeExprContext(call->econtext, true);
	pfree(call->fcinfo);
	pfree(call);
}

List *
pgdl_column_names(TupleDesc tupdesc, List *attnums)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, attnums)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, intVal(lfirst(lc)) - 1);

		names = lappend(names, NameStr(att->attname));
	}
	return names;
}


/*
 * Field `name` of a record a dispatcher function returned; NULL when the
 * record has no such field (SQL of an older version, not yet updated).
 */
Datum
pgdl_record_field(HeapTupleHeader record, const char *name, bool *isnull)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(record),
											  HeapTupleHeaderGetTypMod(record));
	int			attnum = InvalidAttrNumber;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
		{
			attnum = attr->attnum;
			break;
		}
	}
	ReleaseTupleDesc(desc);
	*isnull = true;
	if (attnum == InvalidAttrNumber || attnum > HeapTupleHeaderGetNatts(record))
		return (Datum) 0;
	return GetAttributeByNum(record, attnum, isnull);
}
