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
	bool		is_text = att->atttypid == TEXTOID || att->atttypid == VARCHAROID;

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

			if (isnull)
				elog(ERROR, "binary column \"%s\" of a batch has no format", name);
			decode_binary(batch, column, TupleDescAttr(tupdesc, column),
						  TextDatumGetCString(format), DatumGetArrayTypeP(field));
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
