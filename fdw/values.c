/*
 * values.c
 *		Values handed to Python in their natural types.
 *
 * PL/Python converts arguments of concrete types only, so a value of any
 * type travels in a pgdl.datum row: one slot per natural Python type (int,
 * float, Decimal, bool, str, bytes and lists of those), with the value in
 * the slot that fits its type.  Integers widen to int8 and floats to float8,
 * which loses nothing; a type with no slot travels as its text form, as
 * PL/Python itself passes such types.  Arrays keep their dimensions.
 * Dates and timestamps travel as ISO text whatever DateStyle says, which
 * Python reads back as date and datetime objects (pgdl/dispatch.py).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "pgdl_fdw.h"

static Oid
datum_type(void)
{
	Oid			nsp = get_namespace_oid("pgdl", false);
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum("datum"), ObjectIdGetDatum(nsp));

	if (!OidIsValid(typid))
		elog(ERROR, "type pgdl.datum is missing: reinstall the pgdl extension");
	return typid;
}

Oid
pgdl_datum_array_type(void)
{
	return get_array_type(datum_type());
}

/* The slot for a scalar type, or -1 when it travels as text. */
static int
scalar_slot(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
			return DATUM_I;
		case FLOAT4OID:
		case FLOAT8OID:
			return DATUM_F;
		case NUMERICOID:
			return DATUM_N;
		case BOOLOID:
			return DATUM_B;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			return DATUM_T;
		case BYTEAOID:
			return DATUM_Y;
	}
	return -1;
}

/* A scalar value converted to the type of its slot. */
static Datum
slot_value(Oid typid, Datum value)
{
	switch (typid)
	{
		case INT2OID:
			return Int64GetDatum(DatumGetInt16(value));
		case INT4OID:
			return Int64GetDatum(DatumGetInt32(value));
		case OIDOID:
			return Int64GetDatum(DatumGetObjectId(value));
		case FLOAT4OID:
			return Float8GetDatum(DatumGetFloat4(value));
		case NAMEOID:
			return CStringGetTextDatum(NameStr(*DatumGetName(value)));
		case BPCHAROID:
		case VARCHAROID:
			return PointerGetDatum(DatumGetTextPP(value));
	}
	if (scalar_slot(typid) < 0)
	{
		Oid			out;
		bool		isvarlena;
		int			datestyle = DateStyle;
		char	   *text;

		getTypeOutputInfo(typid, &out, &isvarlena);
		if (typid != DATEOID && typid != TIMESTAMPOID)
			return CStringGetTextDatum(OidOutputFunctionCall(out, value));
		DateStyle = USE_ISO_DATES;
		PG_TRY();
		{
			text = OidOutputFunctionCall(out, value);
		}
		PG_FINALLY();
		{
			DateStyle = datestyle;
		}
		PG_END_TRY();
		return CStringGetTextDatum(text);
	}
	return value;
}

static Oid
slot_type(int slot)
{
	switch (slot)
	{
		case DATUM_I:
			return INT8OID;
		case DATUM_F:
			return FLOAT8OID;
		case DATUM_N:
			return NUMERICOID;
		case DATUM_B:
			return BOOLOID;
		case DATUM_Y:
			return BYTEAOID;
	}
	return TEXTOID;
}

/* An array re-built with elements of its slot's element type. */
static Datum
array_value(Oid elemtype, Datum value, int *slot)
{
	ArrayType  *array = DatumGetArrayTypeP(value);
	int			scalar = scalar_slot(elemtype);
	Oid			target;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (scalar < 0)
		scalar = DATUM_T;
	*slot = scalar + (DATUM_IA - DATUM_I);
	target = slot_type(scalar);

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			elems[i] = slot_value(elemtype, elems[i]);
	get_typlenbyvalalign(target, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, ARR_NDIM(array), ARR_DIMS(array),
											  ARR_LBOUND(array), target,
											  typlen, typbyval, typalign));
}

Datum
pgdl_datum_row(const char *name, const char *op, const char *quantifier,
			   Oid typid, Datum value, bool isnull)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(datum_type(), -1);
	Datum		values[DATUM_NATTS];
	bool		nulls[DATUM_NATTS];
	HeapTuple	tuple;

	Assert(tupdesc->natts == DATUM_NATTS);
	memset(nulls, true, sizeof(nulls));
	values[DATUM_NAME] = CStringGetTextDatum(name);
	nulls[DATUM_NAME] = false;
	if (op)
	{
		values[DATUM_OP] = CStringGetTextDatum(op);
		nulls[DATUM_OP] = false;
	}
	if (quantifier)
	{
		values[DATUM_QUANTIFIER] = CStringGetTextDatum(quantifier);
		nulls[DATUM_QUANTIFIER] = false;
	}
	if (!isnull)
	{
		Oid			basetype = getBaseType(typid);
		Oid			elemtype = get_element_type(basetype);
		int			slot;
		Datum		converted;

		if (OidIsValid(elemtype))
			converted = array_value(getBaseType(elemtype), value, &slot);
		else
		{
			slot = scalar_slot(basetype);
			if (slot < 0)
				slot = DATUM_T;
			converted = slot_value(basetype, value);
		}
		values[slot] = converted;
		nulls[slot] = false;
	}
	tuple = heap_form_tuple(tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);
	return HeapTupleGetDatum(tuple);
}

/* A pgdl.datum of a binary column (source.c): its form in op, its buffers in ya. */
Datum
pgdl_datum_binary(const char *name, const char *form, Datum buffers)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(datum_type(), -1);
	Datum		values[DATUM_NATTS];
	bool		nulls[DATUM_NATTS];
	HeapTuple	tuple;

	memset(nulls, true, sizeof(nulls));
	values[DATUM_NAME] = CStringGetTextDatum(name);
	values[DATUM_OP] = CStringGetTextDatum(form);
	values[DATUM_YA] = buffers;
	nulls[DATUM_NAME] = nulls[DATUM_OP] = nulls[DATUM_YA] = false;
	tuple = heap_form_tuple(tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);
	return HeapTupleGetDatum(tuple);
}

Datum
pgdl_datum_array(List *rows)
{
	Oid			typid = datum_type();
	int			n = list_length(rows);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int16		typlen;
	bool		typbyval;
	char		typalign;
	ListCell   *lc;

	foreach(lc, rows)
		elems[foreach_current_index(lc)] = PointerGetDatum(lfirst(lc));
	get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_array(elems, n, typid, typlen, typbyval, typalign));
}

Datum
pgdl_text_array(List *strings)
{
	int			n = list_length(strings);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ListCell   *lc;

	foreach(lc, strings)
		elems[foreach_current_index(lc)] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
