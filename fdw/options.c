/*
 * options.c
 *		Option validation, and the table definition handed to Python.
 *
 * The C side knows the options every pgdl foreign object shares.  Options of
 * a pgdl table kind are checked by the Python class behind that kind, so the
 * list of valid names lives next to the code that reads them.  Tables of a
 * server with a `wrapper` class carry whatever options that class reads.
 *
 * Every server says what serves its tables, as multicorn2 requires: a
 * wrapper class, or `wrapper 'pgdl'` for pgdl's own table kinds.  Only the
 * extension's scripts create a server without it (the server pgdl, whose
 * 0.8.0 upgrade names it); servers made before 0.8.0 keep serving the kinds.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_type.h"
#include "catalog/pg_user_mapping.h"
#include "catalog/pg_attribute.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pgdl_fdw.h"


typedef struct PgdlOption
{
	const char *name;
	Oid			context;
} PgdlOption;

static const PgdlOption core_options[] = {
	{"wrapper", ForeignServerRelationId},
	{"segments", ForeignServerRelationId},
	{"kind", ForeignTableRelationId},
	{"segments", ForeignTableRelationId},
	{NULL, InvalidOid}
};

static const char *
context_name(Oid context)
{
	switch (context)
	{
		case ForeignDataWrapperRelationId:
			return "foreign-data wrapper";
		case ForeignServerRelationId:
			return "server";
		case UserMappingRelationId:
			return "user mapping";
		case ForeignTableRelationId:
			return "foreign table";
		case AttributeRelationId:
			return "column";
	}
	return "object";
}

static bool
is_core_option(const char *name, Oid context)
{
	for (const PgdlOption *opt = core_options; opt->name; opt++)
		if (opt->context == context && strcmp(opt->name, name) == 0)
			return true;
	return false;
}

static char *
valid_option_list(Oid context)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const PgdlOption *opt = core_options; opt->name; opt++)
	{
		if (opt->context != context)
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", opt->name);
	}
	return buf.data;
}

static void
check_segments(const char *value)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || end == value || n < 1 || n > PGDL_MAX_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"segments\": \"%s\"", value),
				 errhint("Use a whole number from 1 to %d.", PGDL_MAX_SEGMENTS)));
}

/* Asks the Python class behind a pgdl table kind to check the table's options. */
static void
validate_kind_options(List *options)
{
	Oid			argtypes[2] = {TEXTOID, TEXTARRAYOID};
	Oid			fnoid = pgdl_dispatch_function("_fdw_validate", 2, argtypes);
	Datum		args[2];
	bool		isnull;

	args[0] = CStringGetTextDatum(pgdl_option_value(options, "kind"));
	args[1] = pgdl_text_array(pgdl_option_pairs(options, NULL));
	pgdl_call_function(fnoid, 2, args, NULL, &isnull);
}

PG_FUNCTION_INFO_V1(pgdl_fdw_validator);

Datum
pgdl_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			context = PG_GETARG_OID(1);
	bool		has_wrapper = pgdl_wrapper_class(options) != NULL;
	bool		has_kind = pgdl_option_value(options, "kind") != NULL;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, "wrapper") == 0)
		{
			if (context == ForeignTableRelationId)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("Cannot set the wrapper class on the table"),
						 errhint("Set it on the server")));
			if (context != ForeignServerRelationId)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("option \"wrapper\" is only valid for a server, not a %s",
								context_name(context))));
			/* A wrapper class is Python code the server will run. */
			if (has_wrapper && !superuser())
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("only a superuser can set option \"wrapper\""),
						 errdetail("The option names a Python class that runs inside the server.")));
			continue;
		}
		if (strcmp(def->defname, "segments") == 0 && is_core_option("segments", context))
		{
			check_segments(defGetString(def));
			continue;
		}
		if (is_core_option(def->defname, context))
			continue;

		/*
		 * Options read by a user's wrapper class, or by a pgdl table kind; a
		 * user mapping's are the role's own, for a wrapper class.
		 */
		if ((context == ForeignServerRelationId && has_wrapper) ||
			context == AttributeRelationId ||
			context == ForeignTableRelationId ||
			context == UserMappingRelationId)
			continue;

		{
			char	   *valid = valid_option_list(context);

			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\" for a %s of pgdl_fdw",
							def->defname, context_name(context)),
					 valid[0] ? errhint("Valid options in this context are: %s.", valid)
					 : errhint("There are no valid options in this context.")));
		}
	}

	if (context == ForeignServerRelationId && pgdl_option_value(options, "wrapper") == NULL &&
		!creating_extension)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("The wrapper parameter is mandatory, specify a valid class name"),
				 errhint("A server for pgdl's own table kinds says OPTIONS (wrapper '%s').",
						 PGDL_OWN_KINDS)));
	if (context == ForeignTableRelationId && has_kind)
		validate_kind_options(options);

	PG_RETURN_VOID();
}

/* name, value, name, value, ... for a text[]; skip leaves one option out. */
List *
pgdl_option_pairs(List *options, const char *skip)
{
	List	   *pairs = NIL;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (skip && strcmp(def->defname, skip) == 0)
			continue;
		pairs = lappend(pairs, def->defname);
		pairs = lappend(pairs, defGetString(def));
	}
	return pairs;
}

char *
pgdl_option_value(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

static void
append_json_string(StringInfo buf, const char *key, const char *value)
{
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

static void
append_json_options(StringInfo buf, const char *key, List *options, const char *skip)
{
	ListCell   *lc;
	bool		first = true;

	escape_json(buf, key);
	appendStringInfoString(buf, ":{");
	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (skip && strcmp(def->defname, skip) == 0)
			continue;
		if (!first)
			appendStringInfoChar(buf, ',');
		append_json_string(buf, def->defname, defGetString(def));
		first = false;
	}
	appendStringInfoChar(buf, '}');
}

/*
 * The options of the user mapping of the current role for a server (its
 * own, else the PUBLIC one), or NIL when there is none.
 */
static List *
user_mapping_options(Oid serverid)
{
	HeapTuple	tuple;
	Datum		datum;
	bool		isnull;
	List	   *options = NIL;

	tuple = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(GetUserId()),
							ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tuple))
		tuple = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
								ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tuple))
		return NIL;
	datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tuple, Anum_pg_user_mapping_umoptions,
							&isnull);
	if (!isnull)
		options = untransformRelOptions(datum);
	ReleaseSysCache(tuple);
	return options;
}

/* The Python wrapper class a server's options name, or NULL for a server of
 * pgdl's own kinds (wrapper 'pgdl', or none before 0.8.0). */
char *
pgdl_wrapper_class(List *server_options)
{
	char	   *wrapper = pgdl_option_value(server_options, "wrapper");

	return wrapper && strcmp(wrapper, PGDL_OWN_KINDS) != 0 ? wrapper : NULL;
}

/* Whether a foreign table's rows come from a Python wrapper class (its
 * server names one), not from one of pgdl's own kinds. */
bool
pgdl_is_wrapper_table(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);

	return pgdl_wrapper_class(GetForeignServer(table->serverid)->options) != NULL;
}

/*
 * The definition of a foreign table as JSON: names, the wrapper class, the
 * options (table options over server options; for a wrapper class, also
 * those of the current role's user mapping) and the columns.  Python keys
 * its wrapper instances on this text, so an ALTER makes a new instance, and
 * each role with a user mapping of its own gets its own.
 */
char *
pgdl_table_definition(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(table->serverid);
	Relation	rel = table_open(relid, NoLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"relid\":%u,", relid);
	append_json_string(&buf, "schema", get_namespace_name(RelationGetNamespace(rel)));
	appendStringInfoChar(&buf, ',');
	append_json_string(&buf, "table", RelationGetRelationName(rel));
	appendStringInfoChar(&buf, ',');
	append_json_string(&buf, "server", server->servername);
	appendStringInfoChar(&buf, ',');
	append_json_string(&buf, "wrapper", pgdl_wrapper_class(server->options));
	appendStringInfoChar(&buf, ',');
	append_json_options(&buf, "server_options", server->options, "wrapper");
	appendStringInfoChar(&buf, ',');
	append_json_options(&buf, "table_options", table->options, NULL);
	appendStringInfoChar(&buf, ',');
	append_json_options(&buf, "mapping_options",
						pgdl_wrapper_class(server->options) ?
						user_mapping_options(server->serverid) : NIL, NULL);
	appendStringInfoString(&buf, ",\"columns\":[");
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		if (buf.data[buf.len - 1] != '[')
			appendStringInfoChar(&buf, ',');
		appendStringInfoChar(&buf, '{');
		append_json_string(&buf, "name", NameStr(att->attname));
		appendStringInfo(&buf, ",\"type_oid\":%u,\"typmod\":%d,", att->atttypid, att->atttypmod);
		append_json_string(&buf, "type_name",
						   format_type_with_typemod(att->atttypid, att->atttypmod));
		appendStringInfoChar(&buf, ',');
		append_json_string(&buf, "base_type_name",
						   format_type_be(getBaseType(att->atttypid)));
		appendStringInfoChar(&buf, ',');
		append_json_options(&buf, "options", GetForeignColumnOptions(relid, att->attnum), NULL);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	table_close(rel, NoLock);
	return buf.data;
}
