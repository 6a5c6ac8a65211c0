"""Inference stage: Parquet shards → tf.data → batched ONNX decoders (each model's through its
family's component) → annotated Parquet."""
