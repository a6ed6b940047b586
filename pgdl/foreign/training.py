"""kinds 'model_training', 'model_selection' and 'training_segments':
training as foreign tables.

pgdl.model_training: INSERT a row to train (the job runs inside the
INSERT, pgdl.engine.training); SELECT lists the jobs.  pgdl.model_selection
likewise trains every configuration of a search (pgdl.engine.selection).

pgdl_internal.training_segments: the segments of a running job, in
lockstep.  The process that runs the job queries it for the job; each
participant reads its own buffers as source rows, receives the job's spec
and starting weights from segment 0 through the exchange, and trains
(pgdl.engine.segment).
"""

from pgdl.engine import segment as segment_training
from pgdl.foreign.base import PgdlWrapper
from pgdl.multicorn.extensions import Segment
from pgdl.errors import PgdlError


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


class ModelSelection(ModelTraining):
    """pgdl.model_selection: INSERT a row to train every configuration of a
    search (pgdl.engine.selection); SELECT lists the jobs."""

    def source(self, quals, columns, segment):
        # a job whose transaction ended before it finished shows as stopped
        return ("SELECT job, model, search, source, validation_source, iterations, segments, "
                "schedule, method, samples, hyperband_r, eta, skip_last, metric, "
                "higher_is_better, seed, CASE WHEN status = 'running' AND "
                "pg_catalog.txid_status((to_jsonb(j) ->> 'xact')::int8) IS DISTINCT FROM "
                "'in progress' THEN 'stopped' ELSE status END AS status, configs, best_version, "
                "best_value, seconds, owner, started, finished "
                "FROM pgdl.selection_jobs j ORDER BY job"), 1000

    def insert(self, values):
        from pgdl.engine.selection import run_selection
        return run_selection(values)


def _qual(quals, name):
    for qual in quals:
        if qual.field_name == name and qual.operator == "=":
            return qual.value
    return None


class TrainingSegments(PgdlWrapper):
    """pgdl_internal.training_segments: WHERE job = n runs job n, which the
    querying process must be running (pgdl.engine.training.run_job)."""

    parallel_safe = True

    @staticmethod
    def _job(quals):
        job = _qual(quals, "job")
        inputs = segment_training.RUNNING.get(job)
        if inputs is None:
            raise PgdlError("training job %s is not running in this process" % job,
                            hint="Train by INSERT INTO pgdl.model_training.", sqlstate="55000")
        return job, inputs

    def get_rel_size(self, quals, columns):
        return 1000, 100

    def get_segments(self, quals, columns):
        return self._job(quals)[1].segments

    def exchange_bytes(self, quals, columns):
        inputs = self._job(quals)[1]
        return segment_training.exchange_bytes(inputs.parameters, len(inputs.spec))

    def plan_state(self, quals, columns):
        job, inputs = self._job(quals)
        return {"job": job, "train": inputs.train, "validation": inputs.validation,
                "grouped": inputs.grouped}

    def source(self, quals, columns, segment, plan_state=None):
        group = ", group_value" if plan_state.get("grouped") else ""
        parts = ["SELECT 0 AS part, features, labels%s FROM %s WHERE segment %% %d = %d "
                 "ORDER BY buffer_id" % (group, plan_state["train"], segment.count,
                                         segment.index)]
        if plan_state["validation"]:
            parts.append("SELECT 1, features, labels%s FROM %s WHERE segment %% %d = %d"
                         % (group, plan_state["validation"], segment.count, segment.index))
        return " UNION ALL ".join("(%s)" % part for part in parts), 0

    def execute(self, quals, columns, sortkeys=None, limit=None, offset=None, segment=None,
                rows=None, plan_state=None):
        job = plan_state["job"]
        for row in segment_training.train(job, rows, segment or Segment(0, 1)):
            row["job"] = job
            yield row
