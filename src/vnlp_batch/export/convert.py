"""Keras → ONNX with tf2onnx, inputs and outputs named by us."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vnlp_batch.vnlp_env import tensorflow


def keras_to_onnx(model: Any, input_names: Sequence[str], output_names: Sequence[str], opset: int) -> Any:
    """An onnx.ModelProto of `model` with a dynamic batch axis.

    `from_function` rather than `from_keras`: it lets us name inputs and outputs, whereas
    `from_keras` names outputs after Keras's global layer counter (dense_17, …), which changes
    with whatever was built before.
    """
    import onnx
    import tf2onnx

    tf = tensorflow()
    signature = [
        tf.TensorSpec((None, *keras_input.shape[1:]), keras_input.dtype, name=name)
        for name, keras_input in zip(input_names, model.inputs, strict=True)
    ]
    outputs = list(output_names)

    @tf.function(input_signature=signature)
    def serve(*inputs):
        result = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        result = result if isinstance(result, (list, tuple)) else [result]
        return dict(zip(outputs, result, strict=True))

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)
    # tf2onnx orders a function's dict outputs by key; callers read outputs by position.
    by_name = {o.name: o.SerializeToString() for o in proto.graph.output}
    ordered = [onnx.ValueInfoProto.FromString(by_name[name]) for name in outputs]
    del proto.graph.output[:]
    proto.graph.output.extend(ordered)
    return proto
