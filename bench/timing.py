"""Timing helpers shared by the benchmarks."""

import time


def best_of(function, repeats=5):
    """The fastest of `repeats` runs, in seconds (after one warm-up run)."""
    function()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def print_table(header, rows):
    widths = [max(len(str(value)) for value in column) for column in zip(header, *rows)]
    for row in [header] + rows:
        print("  ".join(str(value).rjust(width) for value, width in zip(row, widths)))
