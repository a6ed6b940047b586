"""Writing pgdl's model registry: versions, jobs, sharing, dropping.

Ordinary roles write none of pgdl's tables.  Each function here first
checks, as the user, that the user may do what it asks (a model name
belongs to the role that created it: only that role, a member of it or a
superuser adds versions, shares or drops), then writes inside a privileged
section with bound parameters only (pgdl.privilege).
"""

from pgdl.engine import catalog
from pgdl.engine import weights as weight_vectors
from pgdl.errors import PgdlError
from pgdl.privilege import privileged
from pgdl.sql import ident

MODEL_TYPES = {
    "owner": "name", "model": "text", "version": "int4", "origin": "text",
    "architecture": "text", "keras_json": "text", "source": "text",
    "validation_source": "text", "compile_params": "jsonb", "fit_params": "jsonb",
    "method": "text", "segments": "int4", "iterations": "int4", "seed": "int8",
    "warm_start_version": "int4", "task": "text", "class_values": "text[]",
    "class_type": "text", "feature_shape": "int4[]", "features": "text[]",
    "feature_kind": "text", "label": "text", "key": "text", "normalization": "text",
    "normalizing_const": "float8", "feature_mean": "real[]", "feature_std": "real[]",
    "apply_softmax": "bool", "metrics": "jsonb", "validation_metrics": "jsonb",
    "parameters": "int8", "training_seconds": "float8", "search": "text", "config": "int4",
    "selection_job": "int8", "group_by": "text", "group_value": "text", "group_job": "int8",
}
JOB_TYPES = {
    "owner": "name", "model": "text", "architecture": "text", "source": "text",
    "validation_source": "text", "compile_params": "jsonb", "fit_params": "jsonb",
    "iterations": "int4", "segments": "int4", "method": "text", "seed": "int8",
    "warm_start": "bool", "moving_rate": "float8", "status": "text", "group_by": "text",
}

SELECTION_JOB_TYPES = {
    "owner": "name", "model": "text", "search": "text", "source": "text",
    "validation_source": "text", "iterations": "int4", "segments": "int4", "schedule": "text",
    "method": "text", "samples": "int4", "hyperband_r": "int4", "eta": "int4",
    "skip_last": "int4", "metric": "text", "higher_is_better": "bool", "seed": "int8",
    "status": "text", "configs": "int4", "xact": "int8",
}


def _insert(table, row, types, returning=None):
    names = [name for name in row if name in types]
    sql = "INSERT INTO pgdl.%s (%s) VALUES (%s)%s" % (
        ident(table), ", ".join(ident(n) for n in names),
        ", ".join("$%d" % (i + 1) for i in range(len(names))),
        (" RETURNING %s" % ident(returning)) if returning else "")
    with privileged():
        return catalog.execute(sql, [types[n] for n in names], [row[n] for n in names])


def next_version(owner, name):
    """The next version of owner's model `name`.  Concurrent jobs for one
    model wait here for each other's transaction, so each gets its own."""
    if not catalog.execute("SELECT pgdl.controls($1) AS ok", ["name"], [owner])[0]["ok"]:
        holder = catalog.execute(
            "SELECT pg_get_userbyid(c.relowner) AS holder FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'pgdl_model_owners' AND c.relname = $1", ["name"], [owner])
        raise PgdlError("the model names of role %s belong to role %s"
                        % (owner, holder[0]["holder"] if holder else "?"),
                        detail="REASSIGN OWNED handed them over; they stay named under %s."
                               % owner,
                        hint="Ask that role to drop them (pgdl.drop_model).",
                        sqlstate="42501")
    with privileged():
        catalog.execute("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
                        ["text", "text"], [owner, name])
        return catalog.execute("SELECT coalesce(max(version), 0) + 1 AS v FROM pgdl.models "
                               "WHERE owner = $1 AND model = $2", ["name", "text"],
                               [owner, name])[0]["v"]


def add_version(row, onnx, weights=None, weight_names=None, history=()):
    """Stores a version of the acting role's model (row: pgdl.models columns)."""
    _insert("models", row, MODEL_TYPES)
    key = [row["owner"], row["model"], row["version"]]
    with privileged():
        if weights is not None:
            for tensor, chunk, name, shape, data in weight_vectors.to_rows(weights, weight_names):
                catalog.execute(
                    "INSERT INTO pgdl.model_weights (owner, model, version, tensor, chunk, name, "
                    "shape, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    ["name", "text", "int4", "int4", "int4", "text", "int4[]", "bytea"],
                    key + [tensor, chunk, name, shape, data])
        size = weight_vectors.CHUNK_BYTES
        for chunk in range(max(1, -(-len(onnx) // size))):
            catalog.execute("INSERT INTO pgdl.model_onnx (owner, model, version, chunk, data) "
                            "VALUES ($1, $2, $3, $4, $5)",
                            ["name", "text", "int4", "int4", "bytea"],
                            key + [chunk, onnx[chunk * size:(chunk + 1) * size]])
        add_history(*key, history)
        sync_anchor(row["owner"])


def add_history(owner, model, version, history):
    """Rows of pgdl.training_history for a stored version."""
    with privileged():
        for h in history:
            catalog.execute(
                "INSERT INTO pgdl.training_history (owner, model, version, iteration, segment, "
                "rows, loss, metrics, validation_loss, validation_metrics, seconds) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                ["name", "text", "int4", "int4", "int4", "int8", "float8", "jsonb", "float8",
                 "jsonb", "float8"],
                [owner, model, version, h["iteration"], h["segment"], h["rows"], h["loss"],
                 h["metrics"], h["validation_loss"], h["validation_metrics"], h["seconds"]])


def sync_anchor(owner):
    """owner's anchor in pgdl_model_owners, as pgdl's tables now say (inside a
    privileged section): what DROP ROLE, DROP OWNED and REASSIGN OWNED see."""
    catalog.execute("SELECT pgdl_internal.sync_anchor($1)", ["name"], [owner])


def load_weights(owner, name, version):
    rows = catalog.execute("SELECT tensor, chunk, shape, data FROM pgdl.model_weights "
                           "WHERE owner = $1 AND model = $2 AND version = $3",
                           ["name", "text", "int4"], [owner, name, version])
    return weight_vectors.from_rows([(r["tensor"], r["chunk"], r["shape"], r["data"])
                                     for r in rows])


def new_job(row):
    return _insert("training_jobs", row, JOB_TYPES, returning="job")[0]["job"]


def finish_job(job, values):
    names = list(values)
    sql = "UPDATE pgdl.training_jobs SET %s, finished = now() WHERE job = $1 RETURNING *" % (
        ", ".join("%s = $%d" % (ident(n), i + 2) for i, n in enumerate(names)))
    types = ["int8"] + [{"version": "int4", "iteration": "int4", "loss": "float8",
                         "metrics": "jsonb", "validation_metrics": "jsonb", "status": "text",
                         "bytes_per_iteration": "int8", "groups": "int4"}
                        .get(n, "float8") for n in names]
    with privileged():
        return dict(catalog.execute(sql, types, [job] + [values[n] for n in names])[0])


def _owned(name):
    """The owner of the model `name` means to this role, which must act as it."""
    owner = catalog.resolve(name)
    if not catalog.execute("SELECT pgdl.controls($1) AS ok", ["name"], [owner])[0]["ok"]:
        raise PgdlError('model "%s" belongs to role %s' % (name, owner),
                        detail="A shared model may be used, not shared on, changed or dropped.",
                        sqlstate="42501")
    return owner


ACCESS = {
    "share": "INSERT INTO pgdl.model_access (owner, model, grantee) VALUES ($1, $2, $3) "
             "ON CONFLICT DO NOTHING",
    "unshare": "DELETE FROM pgdl.model_access WHERE owner = $1 AND model = $2 "
               "AND grantee IS NOT DISTINCT FROM $3",
}


def _access(change, name, grantee):
    """grantee: a role as regrole writes it, or None for everyone."""
    owner = _owned(name)
    if grantee is not None:
        grantee = catalog.execute("SELECT rolname FROM pg_roles WHERE oid = $1::regrole",
                                  ["text"], [grantee])[0]["rolname"]
    with privileged():
        catalog.execute(ACCESS[change], ["name", "text", "name"], [owner, name, grantee])
        sync_anchor(owner)


def share_model(name, grantee):
    _access("share", name, grantee)


def unshare_model(name, grantee):
    _access("unshare", name, grantee)


# The predictions tables of a model, and the version each is pinned to (NULL: the latest).
SCORING_TABLES = (
    "SELECT f.ftrelid::regclass::text AS name, "
    "(SELECT option_value FROM pg_options_to_table(f.ftoptions) WHERE option_name = 'version') "
    "AS version FROM pg_foreign_table f JOIN pg_foreign_server s ON s.oid = f.ftserver "
    "JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE w.fdwname = 'pgdl_fdw' "
    "AND f.ftoptions @> ARRAY['kind=predictions', 'model=' || $2, 'owner=' || $1] "
    "ORDER BY 1")
CHILDREN = ("model_weights", "model_onnx", "training_history")


def drop_model(name, version=None, cascade=False):
    """Drops a version of a model (None: all of them, and its sharing).
    Predictions tables that would be left without their version (pinned to
    it, or on the latest when none is left) make it refuse, or with cascade
    are dropped first, as their owner may."""
    owner = _owned(name)
    versions = [r["version"] for r in catalog.execute(
        "SELECT version FROM pgdl.models WHERE owner = $1 AND model = $2",
        ["name", "text"], [owner, name])]
    if version is not None and version not in versions:
        raise PgdlError('model "%s" has no version %d' % (name, version), sqlstate="42704")
    dropping = versions if version is None else [version]
    left = set(versions) - set(dropping)
    needing = [t["name"] for t in catalog.execute(SCORING_TABLES, ["name", "text"], [owner, name])
               if (t["version"] is None and not left) or
               (t["version"] is not None and int(t["version"]) in dropping)]
    if needing and not cascade:
        raise PgdlError('cannot drop model "%s"%s because predictions tables need it'
                        % (name, "" if version is None else " version %d" % version),
                        detail="\n".join("predictions table %s scores it" % t for t in needing),
                        hint="Drop those tables first, or call pgdl.drop_model(..., "
                             "cascade => true).", sqlstate="2BP01")
    for table in needing:         # as the user: only their owner may drop them
        # (regclass::text quotes each name and, on the catalog path, qualifies it)
        catalog.execute("DROP FOREIGN TABLE %s" % table)
    with privileged():
        if version is None:
            catalog.execute("DELETE FROM pgdl.model_access WHERE owner = $1 AND model = $2",
                            ["name", "text"], [owner, name])
        for table in CHILDREN + ("models",):
            catalog.execute("DELETE FROM pgdl.%s WHERE owner = $1 AND model = $2 "
                            "AND version = ANY ($3)" % table, ["name", "text", "int4[]"],
                            [owner, name, dropping])
        sync_anchor(owner)
    return len(dropping)

