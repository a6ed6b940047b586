/*
 * import.c
 *		IMPORT FOREIGN SCHEMA: the wrapper's import_schema() returns table
 *		definitions, which Python turns into quoted CREATE FOREIGN TABLE
 *		statements for PostgreSQL to run.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pgdl_fdw.h"

static const char *
restriction_name(ImportForeignSchemaType type)
{
	switch (type)
	{
		case FDW_IMPORT_SCHEMA_LIMIT_TO:
			return "limit";
		case FDW_IMPORT_SCHEMA_EXCEPT:
			return "except";
		default:
			return "all";
	}
}

List *
pgdlImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	char	   *wrapper = pgdl_wrapper_class(server->options);
	Oid			argtypes[8] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID,
	TEXTARRAYOID, TEXTOID, TEXTARRAYOID};
	Datum		args[8];
	bool		nulls[8] = {false};
	List	   *tables = NIL;
	List	   *commands = NIL;
	ListCell   *lc;
	Datum		result;
	bool		isnull;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;

	foreach(lc, stmt->table_list)
		tables = lappend(tables, lfirst_node(RangeVar, lc)->relname);

	args[0] = CStringGetTextDatum(server->servername);
	args[1] = wrapper ? CStringGetTextDatum(wrapper) : (Datum) 0;
	nulls[1] = wrapper == NULL;
	args[2] = pgdl_text_array(pgdl_option_pairs(server->options, "wrapper"));
	args[3] = CStringGetTextDatum(stmt->remote_schema);
	args[4] = CStringGetTextDatum(stmt->local_schema);
	args[5] = pgdl_text_array(pgdl_option_pairs(stmt->options, NULL));
	args[6] = CStringGetTextDatum(restriction_name(stmt->list_type));
	args[7] = pgdl_text_array(tables);

	result = pgdl_call_function(pgdl_dispatch_function("_fdw_import_schema", 8, argtypes),
								8, args, nulls, &isnull);
	if (isnull)
		return NIL;

	deconstruct_array(DatumGetArrayTypeP(result), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elem_nulls, &n);
	for (int i = 0; i < n; i++)
		if (!elem_nulls[i])
			commands = lappend(commands, TextDatumGetCString(elems[i]));
	return commands;
}
