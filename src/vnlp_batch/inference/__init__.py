"""Inference stage: Parquet shards → tf.data → batched ONNX decoders → annotated Parquet."""
