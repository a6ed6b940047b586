/*
 * depend.c
 *		Relations that options of pgdl tables name, pinned by OID.
 *
 * A predictions table reads its `source`, a buffers table its `packed`
 * table.  Stored as the user typed them, such names would be looked up
 * through the search_path of whoever queries the table later, who could
 * then be handed another table.  So when a pgdl table is created or
 * altered, an event trigger (pgdl_internal.pin_relations) resolves the name
 * once, with the search_path of the role that creates the table, rewrites
 * the option schema-qualified, and records a dependency: DROP of the named
 * relation then refuses without CASCADE, and pg_dump restores it first.
 * A predictions table's model is pinned the same way: without an `owner`
 * option, the owner of the model its creator means by the name (its own,
 * else the one shared with it) is written into one.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"

#include "pgdl_fdw.h"

/* The option of a table kind that names a relation, or NULL. */
const char *
pgdl_relation_option(const char *kind)
{
	if (kind == NULL)
		return NULL;
	if (strcmp(kind, "predictions") == 0)
		return "source";
	if (strcmp(kind, "buffers") == 0)
		return "packed";
	return NULL;
}

static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* ALTER FOREIGN TABLE relid OPTIONS (action option value), which fires this trigger again. */
static void
alter_option(Oid relid, const char *action, const char *option, const char *value)
{
	if (SPI_execute(psprintf("ALTER FOREIGN TABLE %s OPTIONS (%s %s %s)", qualified_name(relid),
							 action, quote_identifier(option), quote_literal_cstr(value)),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not set option \"%s\" of foreign table %s", option,
			 qualified_name(relid));
	CommandCounterIncrement();
}

/* The owner of the model a role means by name, or NULL while there is none. */
static char *
model_owner(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(model)};
	char	   *owner = NULL;
	int			result;

	pgdl_push_catalog_path();
	result = SPI_execute_with_args("SELECT owner::text FROM pgdl.models WHERE model = $1 "
							  "GROUP BY owner ORDER BY bool_or(owner = current_user) DESC "
							  "LIMIT 2", 1, argtypes, args, NULL, true, 0);
	PopOverrideSearchPath();
	if (result != SPI_OK_SELECT)
		elog(ERROR, "could not look up model \"%s\"", model);
	if (SPI_processed == 1 ||
		(SPI_processed == 2 && strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
									  GetUserNameFromId(GetUserId(), false)) == 0))
		owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return owner;
}

static void
pin(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(table->serverid);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	const char *option;
	char	   *kind;
	char	   *model;
	char	   *owner;
	char	   *name;
	Oid			named;
	char	   *qualified;
	ObjectAddress dependent;
	ObjectAddress referenced;
	AclResult	aclresult;

	if (strcmp(fdw->fdwname, "pgdl_fdw") != 0)
		return;
	deleteDependencyRecordsForClass(RelationRelationId, relid, RelationRelationId,
									DEPENDENCY_NORMAL);
	kind = pgdl_option_value(table->options, "kind");
	model = pgdl_option_value(table->options, "model");
	if (kind && strcmp(kind, "predictions") == 0 && model &&
		pgdl_option_value(table->options, "owner") == NULL &&
		(owner = model_owner(model)) != NULL)
	{
		alter_option(relid, "ADD", "owner", owner);		/* pins the relation too */
		return;
	}
	option = pgdl_relation_option(kind);
	name = option ? pgdl_option_value(table->options, option) : NULL;
	if (name == NULL)
		return;

	named = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(name)),
							 NoLock, false);
	/* as for a view: naming a relation takes the right to read it */
	aclresult = pg_class_aclcheck(named, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(named)),
					   get_rel_name(named));

	qualified = qualified_name(named);
	if (strcmp(qualified, name) != 0)
	{
		/* fires this trigger again, which then finds the name qualified */
		alter_option(relid, "SET", option, qualified);
		return;
	}
	ObjectAddressSet(dependent, RelationRelationId, relid);
	ObjectAddressSet(referenced, RelationRelationId, named);
	recordDependencyOn(&dependent, &referenced, DEPENDENCY_NORMAL);
}

PG_FUNCTION_INFO_V1(pgdl_pin_relations);

Datum
pgdl_pin_relations(PG_FUNCTION_ARGS)
{
	List	   *tables = NIL;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgdl_internal.pin_relations() runs only as an event trigger")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pgdl_push_catalog_path();
	if (SPI_execute("SELECT DISTINCT objid FROM pg_catalog.pg_event_trigger_ddl_commands() "
					"WHERE object_type = 'foreign table'", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the foreign tables of the command");
	PopOverrideSearchPath();
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		oid = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			tables = lappend_oid(tables, DatumGetObjectId(oid));
	}
	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) == RELKIND_FOREIGN_TABLE)
			pin(relid);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * pgdl_internal.pin_packed, a trigger on pgdl.packed: the packed table a
 * summary describes depends on the extension, so DROP EXTENSION pgdl
 * refuses while it exists, or drops it with CASCADE.  It fires when
 * preprocess writes the summary and when a restore loads it.
 */
PG_FUNCTION_INFO_V1(pgdl_pin_packed);

Datum
pgdl_pin_packed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	bool		isnull;
	Datum		output;
	Oid			extension = get_extension_oid("pgdl", true);
	ObjectAddress dependent;
	ObjectAddress referenced;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgdl_internal.pin_packed() runs only as a row trigger")));
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple
		: trigdata->tg_trigtuple;
	output = heap_getattr(tuple, 1, RelationGetDescr(trigdata->tg_relation), &isnull);
	if (!isnull && OidIsValid(extension) &&
		get_rel_relkind(DatumGetObjectId(output)) != '\0')
	{
		ObjectAddressSet(dependent, RelationRelationId, DatumGetObjectId(output));
		ObjectAddressSet(referenced, ExtensionRelationId, extension);
		deleteDependencyRecordsForSpecific(RelationRelationId, dependent.objectId,
										   DEPENDENCY_NORMAL, ExtensionRelationId, extension);
		recordDependencyOn(&dependent, &referenced, DEPENDENCY_NORMAL);
	}
	return PointerGetDatum(tuple);
}

/*
 * pgdl_internal.say_what_stays, at the start of DROP EXTENSION: dropping
 * pgdl leaves its schema (PostgreSQL made it for the extension without
 * making it a member), and its users' packed tables unless CASCADE.
 */
PG_FUNCTION_INFO_V1(pgdl_say_what_stays);

Datum
pgdl_say_what_stays(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	DropStmt   *stmt;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgdl_internal.say_what_stays() runs only as an event trigger")));
	if (!IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	if (stmt->removeType != OBJECT_EXTENSION)
		PG_RETURN_VOID();
	foreach(lc, stmt->objects)
	{
		Node	   *object = lfirst(lc);

		if (IsA(object, String) && strcmp(strVal(object), "pgdl") == 0)
			ereport(NOTICE,
					(errmsg("schema pgdl stays after DROP EXTENSION pgdl"),
					 errdetail("Its models, packed summaries and architectures go with the "
							   "extension%s.",
							   stmt->behavior == DROP_CASCADE
							   ? ", and so do the packed tables and predictions tables"
							   : "; packed tables and predictions tables make it refuse "
							   "without CASCADE"),
					 errhint("DROP SCHEMA pgdl removes the empty schema; DROP SCHEMA "
							 "pgdl_model_owners CASCADE the anchors that keep roles which "
							 "owned models from being dropped.")));
	}
	PG_RETURN_VOID();
}
