"""One component per model family: everything vnlp-batch does with a declared VNLP model.

A declaration (models/declarations.py) names its component; export, verification, calibration,
decoding and annotation call the component's hooks (`base.Component`) and never test a model's name.
Models of one family share a component class: a ninth model of an existing family is a declaration
and nothing else.

- `base.py`: the hooks, and what most families do by default;
- `autoregressive.py`: what the token-by-token families share (decode-loop hooks, greedy
  verification and calibration, tagger and parser outputs);
- `spucontext/`, `treestack/`, `stemmer/`: families with a fast decoder — `graphs.py` cuts VNLP's
  Keras model into its graphs, `fast.py` composes them at run time, `component.py` holds the rest;
- `charner.py`, `sentiment.py`: families that run their monolithic graph only.

A new family adds a module (or package) here with a `Component` subclass: its featurizer calls (in
featurize/), VNLP's own input function (for verification, calibration and the fidelity tests), its
labels, how its outputs become columns and row errors, and, to decode fast, its graphs and fast
decoder; then its declarations.
"""
