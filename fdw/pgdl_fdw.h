/*
 * pgdl_fdw.h
 *		The C side of pgdl's foreign-data wrapper.
 *
 * The handler plans, extracts quals, coordinates parallel scans and prints
 * EXPLAIN; everything a foreign table does with its rows happens in Python,
 * reached through the PL/Python dispatcher functions pgdl._fdw_*.  This
 * header is the contract between the files of the handler.
 */
#ifndef PGDL_FDW_H
#define PGDL_FDW_H

#include "postgres.h"

#include "access/parallel.h"
#include "access/tupdesc.h"
#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "nodes/pg_list.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"

#define PGDL_MAX_SEGMENTS 1024
/* The server option wrapper of a server that serves pgdl's own table kinds */
#define PGDL_OWN_KINDS "pgdl"

/* handler.c: settings */
extern char *pgdl_venv;
extern char *pgdl_site_packages_path(void);

/* options.c: option validation and the table definition handed to Python */
extern char *pgdl_table_definition(Oid relid);
extern char *pgdl_option_value(List *options, const char *name);
extern List *pgdl_option_pairs(List *options, const char *skip);
extern char *pgdl_wrapper_class(List *server_options);
extern bool pgdl_is_wrapper_table(Oid relid);

/* transactions.c: transaction events for wrapper classes */
extern void pgdl_transactions_init(void);

/*
 * quals.c: a restriction PostgreSQL can hand to Python.  The value is an
 * expression without Vars (a Const, a Param, an array of them); it is
 * evaluated when the scan starts.  Every qual is rechecked by PostgreSQL.
 */
typedef struct PgdlQual
{
	AttrNumber	attnum;
	char	   *opname;			/* "=", "<", "~~", ...; "=" / "<>" for IS [NOT] NULL */
	char	   *quantifier;		/* NULL, "any" or "all" (x op ANY/ALL(array)) */
	Expr	   *value;			/* NULL for IS [NOT] NULL */
} PgdlQual;

extern List *pgdl_extract_quals(PlannerInfo *root, RelOptInfo *baserel);
extern PgdlQual *pgdl_extract_join_qual(PlannerInfo *root, Expr *clause, RelOptInfo *baserel);
extern List *pgdl_quals_to_private(List *quals, List **exprs);
extern List *pgdl_quals_from_private(List *private, List *exprs);
extern Datum pgdl_quals_to_python(List *quals, Datum *values, bool *isnulls,
								  TupleDesc tupdesc, bool only_constants);
extern char *pgdl_qual_to_string(PgdlQual *qual, TupleDesc tupdesc, List *dpcontext);

/* python_call.c: the PL/Python dispatcher functions */
typedef struct PgdlCall
{
	FmgrInfo	flinfo;
	FunctionCallInfo fcinfo;
	ReturnSetInfo rsinfo;
	ExprContext *econtext;
	bool		done;
} PgdlCall;

extern bool pgdl_python_loaded;
extern Oid	pgdl_dispatch_function(const char *name, int nargs, Oid *argtypes);
extern void pgdl_ensure_python(void);
extern Datum pgdl_invoke(FunctionCallInfo fcinfo);
extern Datum pgdl_call_function(Oid fnoid, int nargs, Datum *args, bool *nulls,
								bool *isnull);
extern TupleDesc pgdl_record_desc(TupleDesc reldesc);
extern PgdlCall *pgdl_call_begin(Oid fnoid, int nargs, Datum *args, bool *nulls,
								 TupleDesc expected, EState *estate);
extern bool pgdl_call_next(PgdlCall *call, TupleTableSlot *slot);
extern void pgdl_store_record(TupleTableSlot *slot, Datum record, bool isnull);
extern bool pgdl_call_next_value(PgdlCall *call, Datum *value, bool *isnull);
extern void pgdl_call_end(PgdlCall *call);
extern void pgdl_raise_pending_error(void);
extern char *pgdl_call_hook(const char *tabledef, const char *hook, const char *argument);
extern Oid	pgdl_datum_array_type(void);
extern Datum pgdl_datum_binary(const char *name, const char *form, Datum buffers);
extern Datum pgdl_datum_row(const char *name, const char *op, const char *quantifier,
							Oid typid, Datum value, bool isnull);
extern Datum pgdl_datum_array(List *rows);
extern Datum pgdl_text_array(List *strings);
extern List *pgdl_column_names(TupleDesc tupdesc, List *attnums);

/* privilege.c: pgdl's catalog writes; whose privileges sources are read with */
typedef struct PgdlAsReader
{
	Oid			user;
	int			sec_context;
	bool		switched;
} PgdlAsReader;

extern void pgdl_privilege_init(void);
extern void pgdl_push_catalog_path(void);
extern Oid	pgdl_reader(void);
extern void pgdl_as_reader_begin(PgdlAsReader *saved, Oid reader);
extern void pgdl_as_reader_end(PgdlAsReader *saved);

/* source.c: rows a segment reads for its wrapper, with its reader's privileges */
typedef struct PgdlSource
{
	char	   *portal_name;
	Oid			reader;			/* the role the query runs as */
	long		batch_size;		/* rows of the next fetch */
	long		max_batch;		/* batches grow by doubling up to this */
	bool		done;
} PgdlSource;

extern PgdlSource *pgdl_source_open(const char *sql, int batch_size, int first_batch,
									 Oid reader);
extern bool pgdl_source_next(PgdlSource *source, Datum *batch);
extern void pgdl_source_close(PgdlSource *source);

/* columns.c: a batch of rows handed over as columns */
typedef struct PgdlBatch
{
	int			rows;
	int			row;			/* the next row to return */
	Datum	  **values;			/* per attribute: its values, or NULL (all NULL) */
	bool	  **nulls;
} PgdlBatch;

extern void pgdl_batch_decode(PgdlBatch *batch, TupleDesc tupdesc, Datum columns);
extern bool pgdl_batch_next(PgdlBatch *batch, TupleTableSlot *slot);

/* depend.c: relations named in options, pinned by OID */
extern const char *pgdl_relation_option(const char *kind);

/* exchange.c: segments in lockstep, with a shared area and a barrier */
typedef struct PgdlExchange
{
	int			segments;
	Size		slot_bytes;
	int			participants;	/* set by the leader once workers started */
	ConditionVariable changed;	/* broadcast when ready, failed or generation changes */
	pg_atomic_uint32 ready;
	pg_atomic_uint32 failed;
	pg_atomic_uint32 arrived;
	pg_atomic_uint32 generation;
	/* then one slot of slot_bytes per segment */
} PgdlExchange;

#define PGDL_MAX_EXCHANGE_SLOT ((int64) 4 * 1024 * 1024 * 1024)	/* bytes per segment */

extern Size pgdl_exchange_size(int segments, int64 bytes);
extern void pgdl_exchange_init(PgdlExchange *exchange, int segments, int64 bytes);
extern void pgdl_exchange_publish(PgdlExchange *exchange, int participants);
extern bool pgdl_exchange_await(PgdlExchange *exchange);
extern void pgdl_exchange_enter(PgdlExchange *exchange);
extern void pgdl_exchange_leave(void);

/* plan.c */
extern bool pgdlIsForeignScanParallelSafe(PlannerInfo *root, RelOptInfo *rel,
										  RangeTblEntry *rte);
extern void pgdlGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
								  Oid foreigntableid);
extern void pgdlGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
								Oid foreigntableid);
extern void pgdlGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
									 RelOptInfo *input_rel, RelOptInfo *output_rel,
									 void *extra);
extern ForeignScan *pgdlGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
									   Oid foreigntableid, ForeignPath *best_path,
									   List *tlist, List *scan_clauses,
									   Plan *outer_plan);

/*
 * The records C and Python exchange (sql/pgdl--0.1.0.sql and its upgrades).
 * pgdl/records.py names the same fields in the same order, and
 * tests/integration/test_records.py checks both against pg_attribute.
 *
 * pgdl.datum, a qual or a column value on its way to Python, or a column
 * of a batch on its way back (values.c, columns.c): by position, as it is
 * read and formed for every row.  The n-th entry is attribute n + 1.
 */
typedef enum PgdlDatumField
{
	DATUM_NAME, DATUM_OP, DATUM_QUANTIFIER,
	DATUM_I, DATUM_F, DATUM_N, DATUM_B, DATUM_T, DATUM_Y,
	DATUM_IA, DATUM_FA, DATUM_NA, DATUM_BA, DATUM_TA, DATUM_YA,
	DATUM_NATTS
} PgdlDatumField;

#define DATUM_ATTNUM(field) ((field) + 1)

/*
 * The records of _fdw_plan and _fdw_source (OUT parameters), read once per
 * plan or scan: by name (pgdl_record_field), so that a field an upgrade adds
 * cannot shift the others.
 */
extern Datum pgdl_record_field(HeapTupleHeader record, const char *name, bool *isnull);

/*
 * The planner-to-executor contract: ForeignScan.fdw_private is a list with
 * one slot per entry below.  fdw_exprs holds the qual values, in qual order.
 */
enum PgdlPrivateIndex
{
	PGDL_PRIVATE_QUALS,			/* quals without values (quals.c) */
	PGDL_PRIVATE_COLUMNS,		/* Integer attnums the query needs */
	PGDL_PRIVATE_SEGMENTS,		/* Integer: how many segments split the rows */
	PGDL_PRIVATE_PLANNED_WORKERS,	/* Integer: parallel workers asked for */
	PGDL_PRIVATE_HAS_SOURCE,	/* Integer 0/1: the wrapper reads rows (source.c) */
	PGDL_PRIVATE_EXCHANGE_BYTES,	/* String: bytes per segment of exchange.c, or "0" */
	PGDL_PRIVATE_STATE,			/* String: the wrapper's plan state (JSON), or "" */
	PGDL_PRIVATE_COLUMNAR		/* Integer 0/1: Python returns batches as columns */
};

/* scan.c */
typedef struct PgdlSharedScan
{
	pg_atomic_uint32 next_segment;
	Oid			reader;			/* whose privileges every participant reads with */
	/* then, for a lockstep scan, its PgdlExchange */
} PgdlSharedScan;

typedef struct PgdlScanState
{
	char	   *tabledef;
	char	   *plan_state;		/* what the wrapper worked out at plan time, or "" */
	List	   *quals;			/* PgdlQual */
	List	   *qual_states;	/* ExprState of each qual value, by value index */
	List	   *columns;		/* Integer attnums */
	int			segments;
	Oid			scan_fn;
	TupleDesc	record_desc;
	Datum		quals_datum;	/* pgdl.datum[] for this (re)scan, or 0 */
	MemoryContext quals_cxt;	/* holds quals_datum; reset by a rescan */
	Datum		tabledef_datum; /* text, columns text[], plan state text: formed */
	Datum		columns_datum;	/* once per scan in the query's memory, or 0 */
	Datum		plan_state_datum;
	PgdlCall   *call;			/* the running call into Python, or NULL */
	bool		has_source;		/* segments read rows through source.c */
	bool		wrapper;		/* a Python wrapper class: end_scan() at the end */
	Oid			source_fn;
	PgdlSource *source;		/* the running segment's rows, or NULL */
	int			segment;		/* the running segment, or -1 */
	MemoryContext batch_cxt;	/* a batch of source rows */
	int64		exchange_bytes; /* > 0: segments run in lockstep (exchange.c) */
	PgdlExchange *exchange;
	ParallelContext *pcxt;		/* leader of a parallel scan */
	Oid			reader;			/* the role source rows are read as (privilege.c) */
	bool		exchange_checked;
	uint32		next_segment;	/* serial scans count here */
	PgdlSharedScan *shared;		/* parallel scans count here */
	MemoryContext row_cxt;
	bool		columnar;		/* the scan function returns batches (columns.c) */
	PgdlBatch	batch;
	MemoryContext columns_cxt;	/* the current batch */
} PgdlScanState;

extern void pgdlBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *pgdlIterateForeignScan(ForeignScanState *node);
extern void pgdlReScanForeignScan(ForeignScanState *node);
extern void pgdlEndForeignScan(ForeignScanState *node);
extern Size pgdlEstimateDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt);
extern void pgdlInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt,
										 void *coordinate);
extern void pgdlReInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt,
										   void *coordinate);
extern void pgdlInitializeWorkerForeignScan(ForeignScanState *node, shm_toc *toc,
											void *coordinate);

/* explain.c */
extern void pgdlExplainForeignScan(ForeignScanState *node, ExplainState *es);

/* modify.c */
extern int	pgdlIsForeignRelUpdatable(Relation rel);
extern void pgdlBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
								   List *fdw_private, int subplan_index, int eflags);
extern void pgdlBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo);
extern TupleTableSlot *pgdlExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
											 TupleTableSlot *slot, TupleTableSlot *planSlot);
extern TupleTableSlot *pgdlExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
											 TupleTableSlot *slot, TupleTableSlot *planSlot);
extern TupleTableSlot *pgdlExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
											 TupleTableSlot *slot, TupleTableSlot *planSlot);
extern void pgdlAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
										RangeTblEntry *target_rte, Relation target_relation);
extern int	pgdlGetForeignModifyBatchSize(ResultRelInfo *rinfo);
extern TupleTableSlot **pgdlExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo,
												   TupleTableSlot **slots,
												   TupleTableSlot **planSlots, int *numSlots);
extern void pgdlEndForeignModify(EState *estate, ResultRelInfo *rinfo);

/* import.c */
extern List *pgdlImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid);

#endif							/* PGDL_FDW_H */
