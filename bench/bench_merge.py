"""Merging segment weights: the Cython weighted average against numpy and
memory bandwidth, in the same run, for 4 to 20 segments of 10M parameters.

  numpy       acc = w0 * t0; acc += w_i * t_i ...; acc /= sum(w), in float32
              with preallocated buffers (a careful numpy user's version)
  reference   pgdl.kernels.reference (float64 accumulation; the test oracle)
  bandwidth   np.copyto of 40 MB: bytes read and written per second; the
              merge reads n tensors and writes one

Prints a table, then one JSON line with the ratios.
"""

import json
import sys

import numpy as np
from timing import best_of, print_table

from pgdl.kernels import easgd_step, reference, weighted_average

PARAMETERS = 10_000_000


def numpy_average(tensors, weights, acc, tmp):
    np.multiply(tensors[0], np.float32(weights[0]), out=acc)
    for tensor, weight in zip(tensors[1:], weights[1:]):
        np.multiply(tensor, np.float32(weight), out=tmp)
        acc += tmp
    acc /= np.float32(sum(weights))
    return acc


def main():
    rng = np.random.default_rng(0)
    source = rng.standard_normal(PARAMETERS).astype(np.float32)
    target = np.empty_like(source)
    copy_s = best_of(lambda: np.copyto(target, source))
    bandwidth = 2 * source.nbytes / copy_s
    rows, ratios = [], {}
    for segments in (4, 8, 20):
        tensors = [source + np.float32(i) for i in range(segments)]
        weights = [1000.0 + i for i in range(segments)]
        out, acc, tmp = (np.empty_like(source) for _ in range(3))
        kernel = best_of(lambda: weighted_average(tensors, weights, out=out))
        numpy = best_of(lambda: numpy_average(tensors, weights, acc, tmp))
        ref = best_of(lambda: reference.weighted_average(tensors, weights), repeats=1)
        easgd = best_of(lambda: easgd_step(acc, tensors, 0.1))
        moved = (segments + 1) * source.nbytes
        rows.append([segments, "%.4f" % kernel, "%.4f" % numpy, "%.4f" % ref, "%.4f" % easgd,
                     "%.1f" % (moved / kernel / 1e9), "%.1f" % (numpy / kernel),
                     "%.0f%%" % (100 * moved / kernel / bandwidth)])
        ratios["average_%d_vs_numpy" % segments] = round(numpy / kernel, 2)
        ratios["average_%d_vs_reference" % segments] = round(ref / kernel, 2)
        ratios["average_%d_of_bandwidth" % segments] = round(moved / kernel / bandwidth, 3)
    print("memory bandwidth (np.copyto, read + write): %.1f GB/s" % (bandwidth / 1e9))
    print_table(["segments", "kernel s", "numpy s", "reference s", "easgd s", "kernel GB/s",
                 "x numpy", "of bandwidth"], rows)
    print(json.dumps({"bench": "merge", "parameters": PARAMETERS, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
