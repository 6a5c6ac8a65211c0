"""onnxruntime sessions: providers, threads, and an honest record of what was actually used."""
