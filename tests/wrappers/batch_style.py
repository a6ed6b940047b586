"""A wrapper that returns batches of rows as columns (pgdl's execute_columns).

Option `rows`: how many rows, in batches of 3; option `mode` spoils a batch
to test the checks: "short" (a column with one value too few), "unknown" (a
column the table lacks), "overflow" (an int8 value for an int4 column).
"""

import numpy as np

from multicorn import ForeignDataWrapper


class BatchFDW(ForeignDataWrapper):
    def __init__(self, options, columns):
        super().__init__(options, columns)
        self.rows = int(options.get("rows", 7))
        self.mode = options.get("mode", "good")

    def get_rel_size(self, quals, columns):
        return self.rows, 40

    def execute_columns(self, quals, columns, **kwargs):
        for start in range(0, self.rows, 3):
            ids = list(range(start, min(start + 3, self.rows)))
            n = len(ids)
            batch = {
                "id": np.array(ids),
                "score": np.array(ids, dtype=np.float32) / 2,
                "flag": [i % 2 == 0 for i in ids],
                "label": ["row %d" % i if i % 3 else None for i in ids],
                "tags": [["a", 'b"c', None] for _ in ids],
                "weights": [[i, i + 0.5] for i in ids],
                "maybe": [None if i % 2 else i for i in ids],
                "stamp": ["2026-11-27 10:%02d:00" % i for i in ids],
            }
            if self.mode == "short":
                batch["label"] = batch["label"][:-1]
            elif self.mode == "unknown":
                batch["nope"] = ids
            elif self.mode == "overflow":
                batch["maybe"] = np.array([2 ** 40] * n)
            yield n, {name: batch[name] for name in batch if name in columns or name == "nope"}
