"""Reading model versions from pgdl.models and pgdl.model_onnx, as the user.

Row-level security decides which models a user sees: their own, and those
shared with them in pgdl.model_access.  A model the user may not see reads
exactly like one that does not exist.
"""

from pgdl import server
from pgdl.errors import PgdlError

# The pgdl.models columns scoring needs (pgdl.engine.scoring.Model), as SQL.
MODEL_COLUMNS = ("model, version, created::text AS created, task, class_values, class_type, "
                 "feature_shape, normalization, normalizing_const, feature_mean, feature_std, "
                 "apply_softmax")


def model_row(name, version=None, extra=""):
    """The pgdl.models row of a version (the latest when version is None)."""
    plpy = server.plpy
    condition = "" if version is None else " AND version = %d" % int(version)
    rows = plpy.execute("SELECT %s%s FROM pgdl.models WHERE model = %s%s "
                        "ORDER BY version DESC LIMIT 1"
                        % (MODEL_COLUMNS, extra, plpy.quote_literal(name), condition))
    if rows:
        return dict(rows[0])
    if version is not None and plpy.execute("SELECT 1 FROM pgdl.models WHERE model = %s"
                                            % plpy.quote_literal(name)):
        raise PgdlError('model "%s" has no version %d' % (name, version),
                        hint="SELECT version FROM pgdl.model_versions WHERE model = '%s' lists "
                             "its versions." % name.replace("'", "''"), sqlstate="42704")
    raise PgdlError('model "%s" does not exist' % name,
                    hint="Train it (pgdl.model_training) or import it (pgdl.import_onnx); a "
                         "model of another role must be shared with you (pgdl.model_access).",
                    sqlstate="42704")


def onnx_bytes(name, version):
    plpy = server.plpy
    rows = plpy.execute("SELECT data FROM pgdl.model_onnx WHERE model = %s AND version = %d "
                        "ORDER BY chunk" % (plpy.quote_literal(name), int(version)))
    if not rows:
        raise PgdlError('model "%s" version %d has no ONNX export' % (name, version),
                        sqlstate="42704")
    return b"".join(bytes(r["data"]) for r in rows)
