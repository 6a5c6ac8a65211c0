"""Model inputs built exactly as VNLP 0.2.4's per-sentence input functions build them, but batched.

One module per input family: `candidates` (the stemmer's morphological candidates, in a fixed order),
`stemmer`, `spucontext` (SPUContextPoS/NER/DP), `treestack` (TreeStackPoS/DP), `charner` and
`sentiment`. Everything here is numpy and plain Python: no Keras or TensorFlow call runs while
features are built, and tests/featurize proves each output equal to VNLP's own function.
"""
