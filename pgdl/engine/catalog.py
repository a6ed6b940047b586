"""Reading model versions from pgdl.models and pgdl.model_onnx, as the user.

A model is named by its owner and its name: alice's "m" and bob's "m" are
two models.  A name a role uses means its own model of that name, else the
one model of that name another role shared with it.  Row-level security
decides which models a role sees: its own, and those shared with it
(pgdl.model_access).  A model the role may not see reads exactly like one
that does not exist.
"""

import contextlib

from pgdl import server
from pgdl.errors import PgdlError

# The pgdl.models columns scoring needs (pgdl.engine.scoring.Model), as SQL.
MODEL_COLUMNS = ("owner, model, version, created::text AS created, task, class_values, "
                 "class_type, feature_shape, normalization, normalizing_const, feature_mean, "
                 "feature_std, apply_softmax")

_plans = {}


def execute(sql, types=(), args=()):
    """Runs fixed SQL with bound parameters (its plan kept for the session)."""
    plpy = server.plpy
    plan = _plans.get((sql, tuple(types)))
    if plan is None:
        plan = _plans[(sql, tuple(types))] = plpy.prepare(sql, list(types))
    return plpy.execute(plan, list(args))


def type_name(text, resolve=contextlib.nullcontext):
    """A type's name as format_type writes it (schema-qualified past
    pg_catalog), or None when text names no type.  resolve: the section to
    look the name up in (pgdl.privilege.user_path for a user's name)."""
    if text is None:
        return None
    try:
        with resolve():
            oid = execute("SELECT to_regtype($1)::oid AS oid", ["text"], [text])[0]["oid"]
    except server.plpy.SPIError:        # to_regtype raises on what does not parse
        return None
    if oid is None:
        return None
    return execute("SELECT format_type($1, NULL) AS type", ["oid"], [oid])[0]["type"]


def does_not_exist(name):
    return PgdlError('model "%s" does not exist' % name,
                     hint="Train it (pgdl.model_training) or import it (pgdl.import_onnx); a "
                          "model of another role must be shared with you (pgdl.share_model).",
                     sqlstate="42704")


def resolve(name, owner=None):
    """The owner of the model a role means by `name` (and, given, `owner`)."""
    if name is None:
        raise PgdlError("a model name is needed, not NULL", sqlstate="22004")
    if owner is not None:
        found = execute("SELECT 1 FROM pgdl.models WHERE owner = $1 AND model = $2 LIMIT 1",
                        ["name", "text"], [owner, name])
        if not found:
            raise does_not_exist(name)
        return owner
    rows = execute("SELECT DISTINCT owner, owner = current_user AS mine FROM pgdl.models "
                   "WHERE model = $1", ["text"], [name])
    if not rows:
        raise does_not_exist(name)
    mine = [r["owner"] for r in rows if r["mine"]]
    if mine:
        return mine[0]
    if len(rows) > 1:
        raise PgdlError('model name "%s" is shared with you by %d roles' % (name, len(rows)),
                        hint="Name the owner: option owner of a predictions table, "
                             "pgdl.create_predictions_table(..., owner => ...).",
                        sqlstate="42725")
    return rows[0]["owner"]


def model_row(name, version=None, extra="", owner=None):
    """The pgdl.models row of a version (the latest when version is None)."""
    owner = resolve(name, owner)
    if version is None:
        rows = execute("SELECT %s%s FROM pgdl.models WHERE owner = $1 AND model = $2 "
                       "ORDER BY version DESC LIMIT 1" % (MODEL_COLUMNS, extra),
                       ["name", "text"], [owner, name])
    else:
        rows = execute("SELECT %s%s FROM pgdl.models WHERE owner = $1 AND model = $2 "
                       "AND version = $3" % (MODEL_COLUMNS, extra),
                       ["name", "text", "int4"], [owner, name, int(version)])
    if rows:
        return dict(rows[0])
    if version is not None:
        raise PgdlError('model "%s" has no version %d' % (name, version),
                        hint="pgdl.model_versions lists its versions.", sqlstate="42704")
    raise does_not_exist(name)


def onnx_bytes(owner, name, version):
    rows = execute("SELECT data FROM pgdl.model_onnx WHERE owner = $1 AND model = $2 "
                   "AND version = $3 ORDER BY chunk", ["name", "text", "int4"],
                   [owner, name, int(version)])
    if not rows:
        raise PgdlError('model "%s" version %d has no ONNX export' % (name, version),
                        sqlstate="42704")
    return b"".join(bytes(r["data"]) for r in rows)
