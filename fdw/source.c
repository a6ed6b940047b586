/*
 * source.c
 *		Rows a segment reads from PostgreSQL for its wrapper.
 *
 * A wrapper that works on rows of the database (packed training buffers,
 * rows to score) names them with a query per segment (its source()).  In a
 * parallel worker PL/Python cannot run SQL: plpy.execute opens a
 * subtransaction, which parallel mode forbids.  So the handler runs the
 * query itself, through SPI as the user who queries (or, in a scan that
 * pgdl runs in a privileged section, as the user it acts for), and hands the rows to
 * Python in batches: one pgdl.datum per column, holding an array of that
 * column's values.  Batches may start small and double (a LIMIT above the
 * scan then stops it before the wrapper worked through big batches).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "pgdl_fdw.h"

PgdlSource *
pgdl_source_open(const char *sql, int batch_size, int first_batch, Oid reader)
{
	PgdlSource *source = palloc0(sizeof(PgdlSource));
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr	plan;
	Portal		portal;
	PgdlAsReader saved;

	source->reader = reader;
	pgdl_as_reader_begin(&saved, reader);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "pgdl source query failed to prepare: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	source->portal_name = MemoryContextStrdup(cxt, portal->name);
	source->max_batch = batch_size > 0 ? batch_size : FETCH_ALL;
	source->batch_size = (first_batch > 0 && batch_size > 0) ? Min(first_batch, batch_size)
		: source->max_batch;
	SPI_finish();
	pgdl_as_reader_end(&saved);
	return source;
}

/* The next batch as pgdl.datum[], in CurrentMemoryContext; false at the end. */
bool
pgdl_source_next(PgdlSource *source, Datum *batch)
{
	MemoryContext cxt = CurrentMemoryContext;
	Portal		portal;
	SPITupleTable *tuptable;
	uint64		count;
	List	   *columns = NIL;
	PgdlAsReader saved;

	if (source->done)
		return false;
	pgdl_as_reader_begin(&saved, source->reader);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_find(source->portal_name);
	if (portal == NULL)
		elog(ERROR, "pgdl source cursor \"%s\" is gone", source->portal_name);
	SPI_cursor_fetch(portal, true, source->batch_size);
	count = SPI_processed;
	tuptable = SPI_tuptable;
	if (count == 0 || source->batch_size == FETCH_ALL)
		source->done = true;
	else
		source->batch_size = Min(source->batch_size * 2, source->max_batch);
	if (count == 0)
	{
		SPI_finish();
		pgdl_as_reader_end(&saved);
		return false;
	}

	for (int column = 0; column < tuptable->tupdesc->natts; column++)
	{
		Form_pg_attribute att = TupleDescAttr(tuptable->tupdesc, column);
		Datum	   *values;
		bool	   *nulls;
		int			dims[1] = {(int) count};
		int			lbs[1] = {1};
		int16		typlen;
		bool		typbyval;
		char		typalign;
		MemoryContext old;
		Datum		array;

		if (att->attisdropped)
			continue;
		values = palloc(sizeof(Datum) * count);
		nulls = palloc(sizeof(bool) * count);
		for (uint64 row = 0; row < count; row++)
			values[row] = SPI_getbinval(tuptable->vals[row], tuptable->tupdesc, column + 1,
										&nulls[row]);
		get_typlenbyvalalign(att->atttypid, &typlen, &typbyval, &typalign);
		old = MemoryContextSwitchTo(cxt);
		array = PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, att->atttypid,
												   typlen, typbyval, typalign));
		columns = lappend(columns,
						  DatumGetPointer(pgdl_datum_row(NameStr(att->attname), NULL, NULL,
														 get_array_type(att->atttypid),
														 array, false)));
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(tuptable);
	SPI_finish();
	pgdl_as_reader_end(&saved);
	*batch = pgdl_datum_array(columns);
	return true;
}

void
pgdl_source_close(PgdlSource *source)
{
	Portal		portal;
	PgdlAsReader saved;

	if (source == NULL)
		return;
	pgdl_as_reader_begin(&saved, source->reader);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_find(source->portal_name);
	if (portal)
		SPI_cursor_close(portal);
	SPI_finish();
	pgdl_as_reader_end(&saved);
	pfree(source->portal_name);
	pfree(source);
}
