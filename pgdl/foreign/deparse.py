"""The SQL a predictions scan runs, written from its quals and plan state.

What the C side hands over as quals becomes the source query's WHERE; a
segment's share of the source, a lookup's window and the model's row
become clauses and queries.  Every name goes through pgdl.sql.ident and
every value through pgdl.sql.literal / typed (PostgreSQL's own quoting).
The plan state (`plan`) is the one Predictions._plan works out.
"""

from pgdl.engine import catalog
from pgdl.foreign.base import Parameter
from pgdl.sql import ident, literal, typed

PUSHED_OPERATORS = {"=", "<>", "<", "<=", ">", ">="}


def conditions(quals, plan, key_column, generic=False):
    """The quals on the key (named key_column in the table) and on
    pass-through columns, as SQL conditions on the source; the generic
    table's key is the source key as text."""
    found = []
    for qual in quals:
        name = qual.field_name
        if name == key_column:
            expression = ident(plan["key"])
            type_name = plan["key_type"]
            if generic:
                expression, type_name = expression + "::text", "text"
        elif name in plan["passed"]:
            expression, type_name = ident(name), plan["passed"][name]
        else:
            continue
        operator = qual.operator
        if isinstance(qual.value, Parameter):     # EXPLAIN of a generic plan
            if isinstance(operator, tuple):
                operator, any_of = operator
                if operator in PUSHED_OPERATORS:
                    found.append("%s %s %s (%s)" % (expression, operator,
                                                    "ANY" if any_of else "ALL",
                                                    qual.value.text))
            elif operator in PUSHED_OPERATORS:
                found.append("%s %s %s" % (expression, operator, qual.value.text))
            continue
        if isinstance(operator, tuple):
            operator, any_of = operator
            if operator not in PUSHED_OPERATORS or not isinstance(qual.value, list):
                continue
            found.append("%s %s %s (%s)" % (expression, operator, "ANY" if any_of else "ALL",
                                            typed(qual.value, type_name)))
        elif qual.value is None and operator in ("=", "<>"):
            found.append("%s IS %sNULL" % (expression, "" if operator == "=" else "NOT "))
        elif operator in PUSHED_OPERATORS and not isinstance(qual.value, (bytes, list)):
            found.append("%s %s %s" % (expression, operator, typed(qual.value, type_name)))
    return found


def share(plan, segment):
    """Segment k of n: its k-th block range of a table, or a hash share of the key."""
    if plan["relkind"] in ("r", "m"):
        blocks = ("(SELECT pg_relation_size(%d::oid::regclass) / "
                  "current_setting('block_size')::int8)" % int(plan["source_oid"]))
        bounds = []
        if segment.index > 0:
            bounds.append("ctid >= format('(%%s,0)', %s * %d / %d)::tid"
                          % (blocks, segment.index, segment.count))
        if segment.index < segment.count - 1:
            bounds.append("ctid < format('(%%s,0)', %s * %d / %d)::tid"
                          % (blocks, segment.index + 1, segment.count))
        return " AND ".join(bounds)
    return ("(hashtext(%s::text)::int8 + 2147483648) %% %d = %d"
            % (ident(plan["key"]), segment.count, segment.index))


def data_query(pushed, plan, segment, window=None):
    """The source rows' SQL: the pushed conditions, the segment's share;
    window (key, size): the size rows from key on, in key order."""
    where = list(pushed)
    if segment.count > 1:
        where.append(share(plan, segment))
    if window is not None:
        where.append("%s >= %s" % (ident(plan["key"]), typed(window[0], plan["key_type"])))
    passed = "".join(", %s" % ident(name) for name in plan["passed"])
    features = ", ".join(plan.get("feature_columns") or [plan["features"]])
    if plan.get("group"):           # a model per group: each row's group comes last
        passed += ", NULL, NULL, NULL, %s::text" % ident(plan["group"]["column"])
    else:
        passed += ", NULL, NULL, NULL"
    return ("SELECT 1, %s, %s%s FROM %s%s%s"
            % (ident(plan["key"]), features, passed, plan["source"],
               (" WHERE " + " AND ".join(where)) if where else "",
               "" if window is None else " ORDER BY %s LIMIT %d" % (ident(plan["key"]),
                                                                   window[1])))


def model_query(plan, cached, onnx=True):
    """The version's pgdl.models row, read as the querying role on every
    scan (so access is checked each time), and its ONNX bytes unless the
    process has a session for it (cached: its (version, created) pairs) or
    scores nothing itself (onnx False)."""
    owner, model = literal(plan["owner"]), literal(plan["model"])
    version = "" if plan["version"] is None else " AND version = %d" % int(plan["version"])
    latest, group = " ORDER BY version DESC LIMIT 1", ""
    if plan.get("group"):           # a model per group: the versions of every group
        version = " AND version IN (%s)" % ", ".join(
            "%d" % int(v) for v in sorted(set(plan["group"]["versions"].values())))
        latest, group = "", ", NULL::text AS group_value"
    skip = "" if not cached else " AND (m.version, m.created) NOT IN (%s)" % ", ".join(
        "(%d, %s)" % (int(v), literal(created)) for v, created in cached)
    if not onnx:
        skip = " AND false"
    nulls = "".join(", NULL AS pass_%d" % i for i in range(len(plan["passed"])))
    features = ", ".join("NULL::float8 AS feature_%d" % i
                         for i in range(len(plan["feature_columns"]))) \
        if plan.get("feature_columns") else "NULL AS features"
    return ("SELECT 0 AS part, NULL AS key, %s%s, m.meta, o.chunk, "
            "o.data AS onnx%s FROM (SELECT x.version, x.created, row_to_json(x)::text AS meta "
            "FROM (SELECT %s FROM pgdl.models WHERE owner = %s AND model = %s%s%s) x) m "
            "LEFT JOIN pgdl.model_onnx o ON o.owner = %s AND o.model = %s "
            "AND o.version = m.version%s ORDER BY m.version, o.chunk"
            % (features, nulls, group, catalog.MODEL_COLUMNS, owner, model, version, latest,
               owner, model, skip))


def feature_count(plan):
    """How many columns the features take in a scan's rows."""
    return len(plan.get("feature_columns") or [plan["features"]])
