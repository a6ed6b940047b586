"""The deep-learning engine: Keras models, segment steps, merging, the model
store.  Nothing here imports plpy: it runs the same in plain pytest."""
