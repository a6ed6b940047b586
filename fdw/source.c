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
 * Python in batches: one pgdl.datum per column (binary_form says how).
 * Batches may start small and double (a LIMIT above the
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

/*
 * How a column of source rows travels to Python (pgdl/batches.py reads
 * both forms):
 *
 *	binary	numbers and booleans as one little-endian buffer ("int8",
 *			"float8", "bool"), bytea values as one buffer and the int64
 *			offsets where each value starts (n + 1 of them, "bytea"); then,
 *			only when the column has NULLs, one byte per row, 1 for NULL.
 *			Python reads them as numpy arrays, without a Python object per
 *			value.
 *	array	any other type: an array of the column's values in its datum slot.
 */
static const char *
binary_form(Oid typid)
{
	switch (getBaseType(typid))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return "int8";
		case FLOAT4OID:
		case FLOAT8OID:
			return "float8";
		case BOOLOID:
			return "bool";
		case BYTEAOID:
			return "bytea";
	}
	return NULL;
}

static bytea *
new_bytea(Size bytes)
{
	bytea	   *result = palloc(VARHDRSZ + bytes);

	SET_VARSIZE(result, VARHDRSZ + bytes);
	return result;
}

/*
 * The column as a pgdl.datum of the binary form, in cxt; 0 when its values
 * do not fit in one buffer (then it goes as an array).
 */
static Datum
binary_column(SPITupleTable *tuptable, int column, uint64 count, const char *form,
			  MemoryContext cxt)
{
	Oid			typid = getBaseType(TupleDescAttr(tuptable->tupdesc, column)->atttypid);
	bool		is_bytea = strcmp(form, "bytea") == 0;
	int			width = strcmp(form, "bool") == 0 ? 1 : 8;
	Datum	   *values = palloc(sizeof(Datum) * count);
	bool	   *nulls = palloc(sizeof(bool) * count);
	bool		any_null = false;
	Size		total = 0;
	Datum		parts[3];
	int			nparts = 0;
	bytea	   *data;
	char	   *out;
	MemoryContext old;
	Datum		array;

	for (uint64 row = 0; row < count; row++)
	{
		values[row] = SPI_getbinval(tuptable->vals[row], tuptable->tupdesc, column + 1,
									&nulls[row]);
		any_null |= nulls[row];
		if (is_bytea && !nulls[row])
		{
			values[row] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(values[row]));
			total += VARSIZE_ANY_EXHDR(DatumGetPointer(values[row]));
			if (total > MaxAllocSize - VARHDRSZ)
				return (Datum) 0;
		}
	}
	old = MemoryContextSwitchTo(cxt);
	data = new_bytea(is_bytea ? total : count * width);
	out = VARDATA(data);
	if (is_bytea)
	{
		bytea	   *offsets = new_bytea((count + 1) * sizeof(int64));
		int64	   *offset = (int64 *) VARDATA(offsets);
		int64		at = 0;

		for (uint64 row = 0; row < count; row++)
		{
			offset[row] = at;
			if (nulls[row])
				continue;
			memcpy(out + at, VARDATA_ANY(DatumGetPointer(values[row])),
				   VARSIZE_ANY_EXHDR(DatumGetPointer(values[row])));
			at += VARSIZE_ANY_EXHDR(DatumGetPointer(values[row]));
		}
		offset[count] = at;
		parts[nparts++] = PointerGetDatum(data);
		parts[nparts++] = PointerGetDatum(offsets);
	}
	else
	{
		for (uint64 row = 0; row < count; row++)
		{
			Datum		value = values[row];

			if (nulls[row])
				memset(out + row * width, 0, width);
			else if (width == 1)
				out[row] = DatumGetBool(value) ? 1 : 0;
			else
			{
				int64		i;
				float8		f;

				switch (typid)
				{
					case INT2OID:
						i = DatumGetInt16(value);
						break;
					case INT4OID:
						i = DatumGetInt32(value);
						break;
					case INT8OID:
						i = DatumGetInt64(value);
						break;
					case FLOAT4OID:
						f = DatumGetFloat4(value);
						memcpy(out + row * 8, &f, 8);
						continue;
					default:
						f = DatumGetFloat8(value);
						memcpy(out + row * 8, &f, 8);
						continue;
				}
				memcpy(out + row * 8, &i, 8);
			}
		}
		parts[nparts++] = PointerGetDatum(data);
	}
	if (any_null)
	{
		bytea	   *mask = new_bytea(count);

		for (uint64 row = 0; row < count; row++)
			VARDATA(mask)[row] = nulls[row] ? 1 : 0;
		parts[nparts++] = PointerGetDatum(mask);
	}
	array = PointerGetDatum(construct_array(parts, nparts, BYTEAOID, -1, false, TYPALIGN_INT));
	array = pgdl_datum_binary(NameStr(TupleDescAttr(tuptable->tupdesc, column)->attname), form,
							  array);
	MemoryContextSwitchTo(old);
	return array;
}

/* The column as a pgdl.datum holding an array of its values, in cxt. */
static Datum
array_column(SPITupleTable *tuptable, int column, uint64 count, MemoryContext cxt)
{
	Form_pg_attribute att = TupleDescAttr(tuptable->tupdesc, column);
	Datum	   *values = palloc(sizeof(Datum) * count);
	bool	   *nulls = palloc(sizeof(bool) * count);
	int			dims[1] = {(int) count};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;
	MemoryContext old;
	Datum		array;

	for (uint64 row = 0; row < count; row++)
		values[row] = SPI_getbinval(tuptable->vals[row], tuptable->tupdesc, column + 1,
									&nulls[row]);
	get_typlenbyvalalign(att->atttypid, &typlen, &typbyval, &typalign);
	old = MemoryContextSwitchTo(cxt);
	array = PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, att->atttypid,
											   typlen, typbyval, typalign));
	array = pgdl_datum_row(NameStr(att->attname), NULL, NULL, get_array_type(att->atttypid),
						   array, false);
	MemoryContextSwitchTo(old);
	return array;
}

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
		const char *form = binary_form(att->atttypid);
		Datum		datum;

		if (att->attisdropped)
			continue;
		if (form == NULL || (datum = binary_column(tuptable, column, count, form, cxt)) == 0)
			datum = array_column(tuptable, column, count, cxt);
		columns = lappend(columns, DatumGetPointer(datum));
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
