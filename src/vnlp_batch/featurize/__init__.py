"""Model inputs built exactly as VNLP 0.2.4's per-sentence input functions build them, but batched.

One module per input family: `candidates` (the stemmer's morphological candidates, in a fixed order),
`stemmer`, `spucontext` (SPUContextPoS/NER/DP), `treestack` (TreeStackPoS/DP), `charner` and
`sentiment`; what they share: `windows` (VNLP's 40-token windows) and `vocab` (VNLP's Keras tokenizers
and padding, for one sequence). Beside them, what a row's text becomes before any model reads it:
`treebank` (VNLP's Treebank tokenizer), `sentences` (VNLP's sentence splitter) and `offsets` (each
token's span). Everything here is numpy and plain Python: no Keras or TensorFlow call runs while
features are built, and tests/featurize proves each output equal to VNLP's own function.
"""
