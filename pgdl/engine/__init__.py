"""The deep-learning engine: Keras models, segment steps, merging, ONNX
export and scoring, the model store.

Two layers.  Computation, which runs the same in plain pytest:
architecture, hopper, keras_loader, measures, onnx_check, onnx_export,
scored, scoring, search, segment, segment_process, segment_server, weights
(segment and hopper report progress through pgdl.server, which logs
outside the server).  The model store and jobs, which run SQL through
pgdl.server's plpy: catalog (fixed SQL with bound parameters), registry,
importing, evaluation, training, selection.
"""
