"""Compiled kernels of pgdl (Cython), with a numpy reference for each.

pack_rows, one_hot     rows as PostgreSQL hands them over -> float32 batches
pack_buffer            the same, for rows in one buffer (fdw/source.c's bytea form)
weighted_average       model averaging of segment weights
easgd_step             elastic averaging SGD exchange

`pgdl.kernels.reference` holds plain numpy versions with the same names and
errors; the tests compare the two.
"""

from pgdl.kernels._merge import easgd_step, weighted_average  # noqa: F401
from pgdl.kernels._pack import one_hot, pack_buffer, pack_rows  # noqa: F401
from pgdl.kernels.errors import PackError  # noqa: F401
