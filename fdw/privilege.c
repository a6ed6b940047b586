/*
 * privilege.c
 *		Whose privileges and which search_path pgdl's own SQL runs with.
 *
 * Ordinary roles may read pgdl's catalog tables (row security decides what
 * they see) but write none of them, and cannot reach pgdl's internal
 * machinery at all.  pgdl's Python code runs its SQL in sections:
 *
 *   catalog    as the user, with the search path pg_catalog alone, so that
 *              nothing a role created in some schema can stand in for a
 *              function, operator or type that pgdl's SQL names;
 *   privileged as the bootstrap superuser, with that search path, like a
 *              SECURITY DEFINER function: pgdl's writes to its own catalog,
 *              after every check of what the user may do ran as the user;
 *   user       as the user, with the search path the user had when the
 *              outermost section began: for the names a user gives;
 *   as a role  as a given role, with the catalog path: what a Citus
 *              worker's segment task does for the role that the
 *              coordinator acts for (pgdl_section_enter_as).
 *
 * Search paths are pushed as override paths (PushOverrideSearchPath), which
 * also works in parallel mode.  The role that was current when the
 * outermost section began is the one whose privileges a scan reads its
 * source rows with (pgdl_reader()), also in the parallel workers of a scan
 * started inside a privileged section; source queries themselves run with
 * the catalog path (source.c).
 *
 * Python reaches the functions marked PGDLLEXPORT through ctypes, so they
 * never raise a PostgreSQL error; they return codes instead.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "pgdl_fdw.h"

#define MAX_DEPTH 16

enum
{
	SECTION_CATALOG = 0,
	SECTION_PRIVILEGED = 1,
	SECTION_USER = 2
};

typedef struct Section
{
	Oid			user;
	int			sec_context;
	int			kind;
} Section;

static Section sections[MAX_DEPTH];
static int	depth = 0;
static OverrideSearchPath *user_path = NULL;	/* the user's, at the outermost entry */

PGDLLEXPORT int pgdl_section_enter(int kind);
PGDLLEXPORT int pgdl_section_enter_as(Oid role);
PGDLLEXPORT int pgdl_section_leave(void);
PGDLLEXPORT int pgdl_section_depth(void);

/* The search path of pg_catalog alone. */
void
pgdl_push_catalog_path(void)
{
	OverrideSearchPath path;

	path.schemas = NIL;
	path.addCatalog = true;
	path.addTemp = false;
	path.generation = 0;
	PushOverrideSearchPath(&path);
}

/* 0 when entered; -1 when nested too deep, -2 for an unknown kind. */
int
pgdl_section_enter(int kind)
{
	Section    *section;

	if (depth >= MAX_DEPTH)
		return -1;
	if (kind < SECTION_CATALOG || kind > SECTION_USER)
		return -2;
	if (depth == 0)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		if (user_path)
		{
			list_free(user_path->schemas);
			pfree(user_path);
		}
		user_path = GetOverrideSearchPath(TopMemoryContext);
		MemoryContextSwitchTo(old);
	}
	section = &sections[depth];
	section->kind = kind;
	GetUserIdAndSecContext(&section->user, &section->sec_context);
	if (kind == SECTION_PRIVILEGED)
		SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
							   section->sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (kind == SECTION_USER)
		PushOverrideSearchPath(user_path);
	else
		pgdl_push_catalog_path();
	depth++;
	return 0;
}

/* A catalog section as role; 0 when entered, -3 for no role, else as above. */
int
pgdl_section_enter_as(Oid role)
{
	int			code;

	if (!OidIsValid(role))
		return -3;
	code = pgdl_section_enter(SECTION_CATALOG);
	if (code != 0)
		return code;
	SetUserIdAndSecContext(role, sections[depth - 1].sec_context | SECURITY_LOCAL_USERID_CHANGE);
	return 0;
}

/* 0 when left; -1 outside a section. */
int
pgdl_section_leave(void)
{
	Section    *section;

	if (depth <= 0)
		return -1;
	section = &sections[--depth];
	PopOverrideSearchPath();
	SetUserIdAndSecContext(section->user, section->sec_context);
	return 0;
}

int
pgdl_section_depth(void)
{
	return depth;
}

/* The role whose privileges source rows are read with. */
Oid
pgdl_reader(void)
{
	for (int i = 0; i < depth; i++)
		if (sections[i].kind == SECTION_PRIVILEGED)
			return sections[i].user;
	return GetUserId();
}

/* An aborted transaction has already restored the user and the search path. */
static void
forget_sections(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		depth = 0;
}

void
pgdl_privilege_init(void)
{
	RegisterXactCallback(forget_sections, NULL);
}

/*
 * Runs what follows as reader (when it is not the current user already)
 * with the catalog search path; pgdl_as_reader_end() switches back.  An
 * error needs no clean-up: aborting the (sub)transaction restores both.
 */
void
pgdl_as_reader_begin(PgdlAsReader *saved, Oid reader)
{
	GetUserIdAndSecContext(&saved->user, &saved->sec_context);
	saved->switched = OidIsValid(reader) && reader != saved->user;
	if (saved->switched)
		SetUserIdAndSecContext(reader, saved->sec_context | SECURITY_LOCAL_USERID_CHANGE);
	pgdl_push_catalog_path();
}

void
pgdl_as_reader_end(PgdlAsReader *saved)
{
	PopOverrideSearchPath();
	if (saved->switched)
		SetUserIdAndSecContext(saved->user, saved->sec_context);
}
