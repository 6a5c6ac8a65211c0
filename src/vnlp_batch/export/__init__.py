"""Export stage: VNLP's Keras models to verified, self-describing ONNX files."""
