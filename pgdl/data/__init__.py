"""Data for training: loading data sets into tables, and packing tables into
per-segment float32 buffers (pgdl.preprocess)."""
