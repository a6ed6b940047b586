"""Packing rows into float32 batches: the Cython kernel against the numpy
reference and a plain memcpy of the output size, in the same run.

  cifar   50,000 rows of 32x32x3 uint8 images, as Python bytes (a bytea
          column as PL/Python hands it over), scaled by 1/255
  mnist   70,000 rows of 784-float arrays in PostgreSQL's binary array
          format (array_send(real[]) as PL/Python hands it over)

Prints a table, then one JSON line with the ratios (kernel throughput over
the baseline's: above 1 is faster).  "of memcpy time" compares with copying
the output's size; "of memcpy bytes/s" compares bytes moved (rows read plus
batch written) per second with memcpy's (read plus write).
"""

import json
import struct
import sys

import numpy as np
from timing import best_of, print_table

from pgdl.kernels import pack_rows, reference


def cifar_rows(count=50_000):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
    return [row.tobytes() for row in images], "uint8", 3072, 1 / 255


def mnist_rows(count=70_000):
    rng = np.random.default_rng(1)
    values = rng.random((count, 784), dtype=np.float32)
    header = struct.pack(">iiiii", 1, 0, 700, 784, 1)
    items = np.empty((count, 784), dtype=[("length", ">i4"), ("value", ">f4")])
    items["length"] = 4
    items["value"] = values
    return [header + row.tobytes() for row in items], "float4", 784, 1.0


def measure(name, rows, kind, n, scale):
    out = np.empty((len(rows), n), dtype=np.float32)
    source = np.ones_like(out)
    kernel = best_of(lambda: pack_rows(rows, kind, n, scale, 0.0, out=out))
    numpy = best_of(lambda: reference.pack_rows(rows, kind, n, scale, 0.0), repeats=2)
    memcpy = best_of(lambda: np.copyto(out, source))
    moved = sum(len(row) for row in rows) + out.nbytes      # read rows, write batch
    return {"case": name, "rows": len(rows), "output_mb": out.nbytes / 1e6,
            "kernel_s": kernel, "numpy_s": numpy, "memcpy_s": memcpy,
            "bandwidth": (moved / kernel) / (2 * out.nbytes / memcpy)}


def main():
    results = [measure("cifar", *cifar_rows()), measure("mnist", *mnist_rows())]
    print_table(["case", "rows", "output MB", "kernel s", "numpy s", "memcpy s",
                 "kernel GB/s", "x numpy", "of memcpy time", "of memcpy bytes/s"],
                [[r["case"], r["rows"], "%.0f" % r["output_mb"], "%.4f" % r["kernel_s"],
                  "%.4f" % r["numpy_s"], "%.4f" % r["memcpy_s"],
                  "%.2f" % (r["output_mb"] / 1e3 / r["kernel_s"]),
                  "%.1f" % (r["numpy_s"] / r["kernel_s"]),
                  "%.0f%%" % (100 * r["memcpy_s"] / r["kernel_s"]),
                  "%.0f%%" % (100 * r["bandwidth"])] for r in results])
    ratios = {}
    for r in results:
        ratios["%s_kernel_vs_numpy" % r["case"]] = round(r["numpy_s"] / r["kernel_s"], 2)
        ratios["%s_kernel_vs_memcpy" % r["case"]] = round(r["memcpy_s"] / r["kernel_s"], 3)
        ratios["%s_kernel_of_bandwidth" % r["case"]] = round(r["bandwidth"], 3)
    print(json.dumps({"bench": "pack", "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
