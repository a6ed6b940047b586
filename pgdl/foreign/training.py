"""kinds 'model_training' and 'training_segments': training as foreign tables.

pgdl.model_training: INSERT a row to train (the job runs inside the
INSERT, pgdl.engine.training); SELECT lists the jobs.

pgdl._training_segments: the segments of a running job, in lockstep.  The
leader queries it with literal job, packed table names, segment count and
parameter count; each participant reads its own buffers and the job's spec
and starting weights as source rows, and trains (pgdl.engine.segment).
"""

import json

from pgdl.engine import segment as segment_training
from pgdl.foreign.base import PgdlWrapper, Segment
from pgdl.foreign.buffers import qualified_name


class ModelTraining(PgdlWrapper):
    parallel_safe = False

    def get_rel_size(self, quals, columns):
        return 100, 200

    def get_segments(self, quals, columns):
        return 1

    def source(self, quals, columns, segment):
        return "SELECT * FROM pgdl.training_jobs ORDER BY job", 1000

    def execute(self, quals, columns, sortkeys=None, limit=None, offset=None, segment=None,
                rows=None):
        names = list(rows)
        for values in zip(*(rows[name] for name in names)):
            yield dict(zip(names, values))

    def insert(self, values):
        from pgdl.engine.training import run_job
        return run_job(values)


def _qual(quals, name):
    for qual in quals:
        if qual.field_name == name and qual.operator == "=":
            return qual.value
    return None


class TrainingSegments(PgdlWrapper):
    parallel_safe = True

    def get_rel_size(self, quals, columns):
        return 1000, 100

    def get_segments(self, quals, columns):
        return int(_qual(quals, "segments") or 1)

    def exchange_bytes(self, quals, columns):
        return segment_training.exchange_bytes(int(_qual(quals, "parameters") or 0))

    def source(self, quals, columns, segment):
        job = int(_qual(quals, "job"))
        parts = ["SELECT 0 AS part, features, labels, NULL::bytea AS start, NULL::text AS spec "
                 "FROM %s WHERE segment %% %d = %d ORDER BY buffer_id"
                 % (qualified_name(_qual(quals, "train")), segment.count, segment.index)]
        if _qual(quals, "validation"):
            parts.append("SELECT 1, features, labels, NULL, NULL FROM %s WHERE segment %% %d = %d"
                         % (qualified_name(_qual(quals, "validation")), segment.count,
                            segment.index))
        parts.append("SELECT 2, NULL, NULL, weights, spec FROM pgdl.training_runs "
                     "WHERE job = %d" % job)
        return " UNION ALL ".join("(%s)" % part for part in parts), 0

    def execute(self, quals, columns, sortkeys=None, limit=None, offset=None, segment=None,
                rows=None):
        run = [i for i, part in enumerate(rows["part"]) if part == 2]
        spec = json.loads(rows["spec"][run[0]])
        data = {"part": rows["part"], "features": rows["features"], "labels": rows["labels"],
                "start": [rows["start"][run[0]]]}
        # the job's inputs come back in every row: PostgreSQL rechecks the quals
        inputs = {name: _qual(quals, name)
                  for name in ("job", "train", "validation", "segments", "parameters")}
        for row in segment_training.train(spec, data, segment or Segment(0, 1)):
            row.update(inputs)
            yield row
