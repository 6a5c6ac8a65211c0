"""Keras → ONNX with tf2onnx, inputs named after the declaration and one output, `probs`."""

from __future__ import annotations

from typing import Any

from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import tensorflow

OUTPUT_NAME = "probs"


def keras_to_onnx(spec: ModelSpec, model: Any, opset: int) -> Any:
    """An onnx.ModelProto of `model` with a dynamic batch axis.

    `from_function` rather than `from_keras`: it lets us name inputs and outputs, whereas
    `from_keras` names outputs after Keras's global layer counter (dense_17, …), which changes
    with whatever was built before.
    """
    import tf2onnx

    tf = tensorflow()
    signature = [
        tf.TensorSpec((None, *keras_input.shape[1:]), keras_input.dtype, name=name)
        for name, keras_input in zip(spec.inputs, model.inputs, strict=True)
    ]

    @tf.function(input_signature=signature)
    def serve(*inputs):
        return {OUTPUT_NAME: model(list(inputs), training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)
    return proto
