"""The Multicorn-API classes behind pgdl's own foreign tables.

A foreign table on server pgdl names its class with the option `kind`.
"""

import importlib

from pgdl.errors import invalid_option

KINDS = {
    "buffers": "pgdl.foreign.buffers.Buffers",
    "model_selection": "pgdl.foreign.training.ModelSelection",
    "model_training": "pgdl.foreign.training.ModelTraining",
    "predictions": "pgdl.foreign.predictions.Predictions",
    "series": "pgdl.foreign.series.Series",
    "training_segments": "pgdl.foreign.training.TrainingSegments",
}
# Kinds only pgdl's own tables (and superusers) may have.
INTERNAL_KINDS = {"model_selection", "model_training", "training_segments"}


def kind_class(kind, table_name):
    if kind is None:
        raise invalid_option(
            "foreign table %s has no option \"kind\"" % table_name,
            hint="Tables on server pgdl need kind: one of %s." % ", ".join(sorted(KINDS)))
    path = KINDS.get(kind)
    if path is None:
        raise invalid_option(
            "unknown kind \"%s\" for foreign table %s" % (kind, table_name),
            hint="Valid kinds are: %s." % ", ".join(sorted(KINDS)))
    module_name, _, class_name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)
