"""VNLP 0.2.4's own per-sentence `predict`, on the synthetic weight directory.

VNLP's classes are used unmodified; only their module constants PROD_WEIGHTS_LOC and
WORD_EMBEDDING_MATRIX_LOC are pointed at the synthetic files (as tests/inference/test_fidelity_vnlp.py
does), and each Keras model is wrapped in `tf.function` (same layers and weights, ~13× faster
than eager) — VNLP calls `self.model(X).numpy()`, which the wrapper serves. Batch size is 1 (one
sentence, and for the autoregressive models one token per call), as VNLP runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path


def _point_at(directory: Path) -> None:
    from vnlp_batch.models.declarations import MODELS
    from vnlp_batch.vnlp_env import vnlp_module

    def must_exist(path, url):
        if not Path(path).is_file():
            raise FileNotFoundError(f"VNLP tried to download {url} to {path}")

    for spec in MODELS.values():
        module = vnlp_module(spec.module)
        module.PROD_WEIGHTS_LOC = str(directory / spec.weights_file)
        if spec.embedding:
            module.WORD_EMBEDDING_MATRIX_LOC = str(directory / spec.embedding.file)
        module.check_and_download = must_exist


def _wrap_models(obj, seen=None) -> int:
    """Replace every Keras `model` attribute reachable from `obj` by a tf.function of it."""
    from vnlp_batch.vnlp_env import tensorflow

    tf = tensorflow()
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    wrapped = 0
    model = getattr(obj, "model", None)
    if isinstance(model, tf.keras.Model):
        fn = tf.function(model, reduce_retracing=True)

        def call(inputs, _fn=fn):
            # VNLP passes a list of arrays (most models) or one array (sentiment).
            if isinstance(inputs, (list, tuple)):
                return _fn([tf.convert_to_tensor(x) for x in inputs])
            return _fn(tf.convert_to_tensor(inputs))

        obj.model = call
        wrapped += 1
    for attr in ("instance", "stemmer_analyzer", "pos_tagger"):
        child = getattr(obj, attr, None)
        if child is not None:
            wrapped += _wrap_models(child, seen)
    return wrapped


def instantiate(name: str, directory: Path):
    from vnlp_batch.models.declarations import MODELS
    from vnlp_batch.vnlp_env import vnlp_module

    _point_at(directory)
    spec = MODELS[name]
    cls = getattr(vnlp_module(spec.module), spec.vnlp_class)
    if name == "stemmer":
        instance = cls()
    elif name in ("treestack_pos", "treestack_dp", "charner"):
        instance = cls(False)
    else:
        instance = cls(evaluate=False)
    _wrap_models(instance)
    return instance


def call(name: str, instance, text: str):
    if name == "sentiment":
        return instance.predict_proba(text)
    return instance.predict(text)


def measure(
    name: str, directory: Path, texts: Sequence[str], tokens: Sequence[Sequence[str]], warmup: Sequence[str]
) -> dict:
    """Tokens/s of VNLP's predict over `texts` (after tracing on `warmup`), one sentence at a time."""
    start = time.perf_counter()
    instance = instantiate(name, directory)
    for text in warmup:  # traces the tf.functions (the stemmer's shapes vary with the sentence length)
        call(name, instance, text)
    setup_s = time.perf_counter() - start
    per_sentence, n_tokens, failed = [], 0, []
    for text, toks in zip(texts, tokens, strict=True):
        t = time.perf_counter()
        try:
            call(name, instance, text)
        except Exception as exc:  # e.g. VNLP's TreeStackDP raises on an empty PoS label
            failed.append(f"{type(exc).__name__}: {exc}"[:120])
            continue
        per_sentence.append(time.perf_counter() - t)
        n_tokens += len(toks)
    seconds = sum(per_sentence)
    return {
        "sentences": len(per_sentence),
        "failed": failed,
        "tokens": n_tokens,
        "seconds": round(seconds, 4),
        "tokens_per_s": n_tokens / seconds if seconds else float("nan"),
        "setup_s": round(setup_s, 2),
    }
