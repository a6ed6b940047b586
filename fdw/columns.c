/*
 * columns.c
 *		A batch of rows that Python hands over as columns.
 *
 * A wrapper that works in batches (predictions score thousands of rows at
 * once) can return each batch as one pgdl.datum[] with a datum per column,
 * instead of a row at a time through PL/Python's per-value conversions.  A
 * column comes in one of two forms:
 *
 *	binary	op names the format ("int8", "float8" or "bool"); ya holds the
 *			little-endian values and, optionally, a second element with one
 *			byte per row, 1 where the value is NULL
 *	text	ta holds each value in the column type's text form (NULL elements
 *			are NULLs)
 *	coded	op "dict": ta holds the distinct values in text form, ya one
 *			buffer of int32 codes, one per row, -1 for NULL; each distinct
 *			value is read once (a class column)
 *	arrays	op "float8[]": ya holds rows x i float8 values (and optionally a
 *			NULL mask) for a float8[] or real[] column; op "dict[]": ta holds
 *			the distinct elements, ya rows x i int32 codes, for an array
 *			column of their type (probabilities, top classes)
 *
 * A datum without a name gives the batch's row count (in i), so that a
 * batch of no columns still has its rows.  A column the batch leaves out is
 * NULL in every row.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "pgdl_fdw.h"


static void
set_count(PgdlBatch *batch, int64 count, const char *column)
{
	if (count < 0 || count > MaxAllocSize / sizeof(Datum))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("a batch cannot hold " INT64_FORMAT " rows", count)));
	if (batch->rows >= 0 && batch->rows != count)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("column \"%s\" of a batch has " INT64_FORMAT " values, not %d",
						column, count, batch->rows)));
	batch->rows = count;
}

static Datum
binary_value(const char *format, const char *data, int row, Oid typid, const char *column)
{
	if (strcmp(format, "bool") == 0)
	{
		if (typid != BOOLOID)
			goto mismatch;
		return BoolGetDatum(data[row] != 0);
	}
	if (strcmp(format, "float8") == 0)
	{
		float8		value;

		memcpy(&value, data + (Size) row * 8, 8);
		if (typid == FLOAT8OID)
			return Float8GetDatum(value);
		if (typid == FLOAT4OID)
			return Float4GetDatum((float4) value);
		goto mismatch;
	}
	if (strcmp(format, "int8") == 0)
	{
		int64		value;

		memcpy(&value, data + (Size) row * 8, 8);
		if (typid == INT8OID)
			return Int64GetDatum(value);
		if ((typid == INT4OID && (value < PG_INT32_MIN || value > PG_INT32_MAX)) ||
			(typid == INT2OID && (value < PG_INT16_MIN || value > PG_INT16_MAX)))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value " INT64_FORMAT " is out of range for column \"%s\"",
							value, column)));
		if (typid == INT4OID)
			return Int32GetDatum((int32) value);
		if (typid == INT2OID)
			return Int16GetDatum((int16) value);
	}
mismatch:
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("column \"%s\" of type %s cannot take %s values", column,
					format_type_be(typid), format)));
	return (Datum) 0;
}

static void
decode_binary(PgdlBatch *batch, int column, Form_pg_attribute att, const char *format,
			  ArrayType *parts)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			width = strcmp(format, "bool") == 0 ? 1 : 8;
	const char *data;
	const char *mask = NULL;
	int			count;

	deconstruct_array(parts, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n < 1 || nulls[0])
		elog(ERROR, "binary column \"%s\" of a batch has no values", NameStr(att->attname));
	data = VARDATA_ANY(DatumGetPointer(elems[0]));
	count = VARSIZE_ANY_EXHDR(DatumGetPointer(elems[0])) / width;
	set_count(batch, count, NameStr(att->attname));
	if (n > 1 && !nulls[1])
	{
		if (VARSIZE_ANY_EXHDR(DatumGetPointer(elems[1])) != count)
			elog(ERROR, "the NULL mask of column \"%s\" does not fit its values",
				 NameStr(att->attname));
		mask = VARDATA_ANY(DatumGetPointer(elems[1]));
	}
	batch->values[column] = palloc(sizeof(Datum) * Max(count, 1));
	batch->nulls[column] = palloc(sizeof(bool) * Max(count, 1));
	for (int row = 0; row < count; row++)
	{
		batch->nulls[column][row] = mask && mask[row];
		batch->values[column][row] = batch->nulls[column][row] ? (Datum) 0 :
			binary_value(format, data, row, att->atttypid, NameStr(att->attname));
	}
}

static void
decode_text(PgdlBatch *batch, int column, Form_pg_attribute att, ArrayType *texts)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Oid			input;
	Oid			ioparam;
	FmgrInfo	flinfo;
	/* text as it is; varchar(n) through its input function, which checks n */
	bool		is_text = att->atttypid == TEXTOID ||
		(att->atttypid == VARCHAROID && att->atttypmod < 0);

	deconstruct_array(texts, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	set_count(batch, n, NameStr(att->attname));
	batch->values[column] = elems;
	batch->nulls[column] = nulls;
	if (is_text)
		return;
	getTypeInputInfo(att->atttypid, &input, &ioparam);
	fmgr_info(input, &flinfo);
	for (int row = 0; row < n; row++)
		if (!nulls[row])
			elems[row] = InputFunctionCall(&flinfo, TextDatumGetCString(elems[row]), ioparam,
										   att->atttypmod);
}

/*
 * The bytea parts of a binary column of row_bytes bytes per row: its data,
 * and its NULL mask or NULL; *count: its rows.
 */
static const char *
binary_parts(ArrayType *parts, const char *column, Size row_bytes, int *count,
			 const char **mask)
{
	Size		bytes;
	const char *data;

	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(parts, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n < 1 || nulls[0])
		elog(ERROR, "binary column \"%s\" of a batch has no values", column);
	bytes = VARSIZE_ANY_EXHDR(DatumGetPointer(elems[0]));
	data = VARDATA_ANY(DatumGetPointer(elems[0]));
	if (bytes % row_bytes != 0 || bytes / row_bytes > MaxAllocSize / sizeof(Datum))
		elog(ERROR, "binary column \"%s\" of a batch has %zu bytes, not rows of %zu",
			 column, bytes, row_bytes);
	*count = (int) (bytes / row_bytes);
	*mask = NULL;
	if (n > 1 && !nulls[1])
	{
		if (VARSIZE_ANY_EXHDR(DatumGetPointer(elems[1])) != (Size) *count)
			elog(ERROR, "the NULL mask of column \"%s\" does not fit its values", column);
		*mask = VARDATA_ANY(DatumGetPointer(elems[1]));
	}
	return data;
}

static int
batch_width(int64 width, const char *column)
{
	if (width < 1 || width > MaxAllocSize / sizeof(Datum))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("column \"%s\" of a batch has arrays of " INT64_FORMAT " values",
						column, width)));
	return (int) width;
}

/* float8[] or real[] values of `width` elements per row. */
static void
decode_float_arrays(PgdlBatch *batch, int column, Form_pg_attribute att, ArrayType *parts,
					int64 width_value)
{
	const char *name = NameStr(att->attname);
	int			width = batch_width(width_value, name);
	Oid			element = get_element_type(att->atttypid);
	int			count;
	const char *mask;
	const char *data = binary_parts(parts, name, (Size) width * 8, &count, &mask);
	Datum	   *elems = palloc(sizeof(Datum) * width);
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (element != FLOAT8OID && element != FLOAT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("column \"%s\" of type %s cannot take float8[] values", name,
						format_type_be(att->atttypid))));
	get_typlenbyvalalign(element, &typlen, &typbyval, &typalign);
	set_count(batch, count, name);
	batch->values[column] = palloc(sizeof(Datum) * Max(count, 1));
	batch->nulls[column] = palloc(sizeof(bool) * Max(count, 1));
	for (int row = 0; row < count; row++)
	{
		batch->nulls[column][row] = mask && mask[row];
		if (batch->nulls[column][row])
			continue;
		for (int i = 0; i < width; i++)
		{
			float8		value;

			memcpy(&value, data + ((Size) row * width + i) * 8, 8);
			elems[i] = element == FLOAT8OID ? Float8GetDatum(value) :
				Float4GetDatum((float4) value);
		}
		batch->values[column][row] = PointerGetDatum(
			construct_array(elems, width, element, typlen, typbyval, typalign));
	}
}

/* The distinct values of a coded column, read with type typid's input function. */
static Datum *
dictionary(ArrayType *texts, Oid typid, int32 typmod, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	Oid			input;
	Oid			ioparam;
	FmgrInfo	flinfo;

	deconstruct_array(texts, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	getTypeInputInfo(typid, &input, &ioparam);
	fmgr_info(input, &flinfo);
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			elog(ERROR, "a coded column of a batch has a NULL value in its dictionary");
		elems[i] = InputFunctionCall(&flinfo, TextDatumGetCString(elems[i]), ioparam, typmod);
	}
	return elems;
}

static Datum
coded_value(Datum *values, int n, const char *codes, Size at, const char *column, bool *isnull)
{
	int32		code;

	memcpy(&code, codes + at * 4, 4);
	*isnull = code < 0;
	if (code >= n)
		elog(ERROR, "column \"%s\" of a batch has code %d, past its %d values", column, code, n);
	return *isnull ? (Datum) 0 : values[code];
}

/*
 * A coded column: one value per row (width 0), or an array of `width`
 * values per row for an array column.
 */
static void
decode_coded(PgdlBatch *batch, int column, Form_pg_attribute att, ArrayType *texts,
			 ArrayType *parts, int64 width_value)
{
	const char *name = NameStr(att->attname);
	bool		arrays = width_value > 0;
	int			width = arrays ? batch_width(width_value, name) : 1;
	Oid			element = arrays ? get_element_type(att->atttypid) : att->atttypid;
	int			count;
	const char *mask;
	const char *codes = binary_parts(parts, name, (Size) width * 4, &count, &mask);
	int			n;
	Datum	   *values;
	Datum	   *elems = palloc(sizeof(Datum) * width);
	bool	   *elem_nulls = palloc(sizeof(bool) * width);
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (!OidIsValid(element))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("column \"%s\" of type %s cannot take arrays", name,
						format_type_be(att->atttypid))));
	values = dictionary(texts, element, arrays ? -1 : att->atttypmod, &n);
	set_count(batch, count, name);
	batch->values[column] = palloc(sizeof(Datum) * Max(count, 1));
	batch->nulls[column] = palloc(sizeof(bool) * Max(count, 1));
	get_typlenbyvalalign(element, &typlen, &typbyval, &typalign);
	for (int row = 0; row < count; row++)
	{
		int			dims[1] = {width};
		int			lbs[1] = {1};

		batch->nulls[column][row] = mask && mask[row];
		if (batch->nulls[column][row])
			continue;
		if (!arrays)
		{
			batch->values[column][row] = coded_value(values, n, codes, row, name,
													 &batch->nulls[column][row]);
			continue;
		}
		for (int i = 0; i < width; i++)
			elems[i] = coded_value(values, n, codes, (Size) row * width + i, name,
								   &elem_nulls[i]);
		batch->values[column][row] = PointerGetDatum(
			construct_md_array(elems, elem_nulls, 1, dims, lbs, element, typlen, typbyval,
							   typalign));
	}
}

/*
 * Decodes a batch (pgdl.datum[]) for a relation of descriptor tupdesc, in
 * CurrentMemoryContext.
 */
void
pgdl_batch_decode(PgdlBatch *batch, TupleDesc tupdesc, Datum columns)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			datum_type = get_element_type(pgdl_datum_array_type());

	batch->rows = -1;
	batch->row = 0;
	batch->values = palloc0(sizeof(Datum *) * tupdesc->natts);
	batch->nulls = palloc0(sizeof(bool *) * tupdesc->natts);
	get_typlenbyvalalign(datum_type, &typlen, &typbyval, &typalign);
	deconstruct_array(DatumGetArrayTypeP(columns), datum_type, typlen, typbyval, typalign,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		HeapTupleHeader td;
		bool		isnull;
		char	   *name;
		int			column = -1;
		Datum		field;

		if (nulls[i])
			continue;
		td = DatumGetHeapTupleHeader(elems[i]);
		field = GetAttributeByNum(td, DATUM_ATTNUM(DATUM_NAME), &isnull);
		if (isnull)
		{
			/* the batch's row count */
			field = GetAttributeByNum(td, DATUM_ATTNUM(DATUM_I), &isnull);
			if (!isnull)
				set_count(batch, DatumGetInt64(field), "(rows)");
			continue;
		}
		name = TextDatumGetCString(field);
		for (int a = 0; a < tupdesc->natts; a++)
			if (!TupleDescAttr(tupdesc, a)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(tupdesc, a)->attname), name) == 0)
				column = a;
		if (column < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("a batch has column \"%s\", which the foreign table lacks", name)));

		field = GetAttributeByNum(td, DATUM_ATTNUM(DATUM_YA), &isnull);
		if (!isnull)
		{
			Datum		format = GetAttributeByNum(td, DATUM_ATTNUM(DATUM_OP), &isnull);
			char	   *form;
			Datum		width;
			bool		no_width;
			Datum		texts;
			bool		no_texts;

			if (isnull)
				elog(ERROR, "binary column \"%s\" of a batch has no format", name);
			form = TextDatumGetCString(format);
			width = GetAttributeByNum(td, DATUM_ATTNUM(DATUM_I), &no_width);
			texts = GetAttributeByNum(td, DATUM_ATTNUM(DATUM_TA), &no_texts);
			if (strcmp(form, "float8[]") == 0)
				decode_float_arrays(batch, column, TupleDescAttr(tupdesc, column),
									DatumGetArrayTypeP(field),
									no_width ? 0 : DatumGetInt64(width));
			else if (strcmp(form, "dict") == 0 || strcmp(form, "dict[]") == 0)
			{
				if (no_texts)
					elog(ERROR, "coded column \"%s\" of a batch has no values", name);
				decode_coded(batch, column, TupleDescAttr(tupdesc, column),
							 DatumGetArrayTypeP(texts), DatumGetArrayTypeP(field),
							 strcmp(form, "dict[]") == 0 ? (no_width ? 0 : DatumGetInt64(width))
							 : 0);
			}
			else
				decode_binary(batch, column, TupleDescAttr(tupdesc, column), form,
							  DatumGetArrayTypeP(field));
			continue;
		}
		field = GetAttributeByNum(td, DATUM_ATTNUM(DATUM_TA), &isnull);
		if (!isnull)
			decode_text(batch, column, TupleDescAttr(tupdesc, column),
						DatumGetArrayTypeP(field));
	}
	if (batch->rows < 0)
		batch->rows = 0;
}

/* Stores the batch's next row into slot; false when the batch is used up. */
bool
pgdl_batch_next(PgdlBatch *batch, TupleTableSlot *slot)
{
	int			natts = slot->tts_tupleDescriptor->natts;

	if (batch->row >= batch->rows)
		return false;
	ExecClearTuple(slot);
	for (int a = 0; a < natts; a++)
	{
		if (batch->values[a] == NULL)
		{
			slot->tts_values[a] = (Datum) 0;
			slot->tts_isnull[a] = true;
		}
		else
		{
			slot->tts_values[a] = batch->values[a][batch->row];
			slot->tts_isnull[a] = batch->nulls[a][batch->row];
		}
	}
	ExecStoreVirtualTuple(slot);
	batch->row++;
	return true;
}
