"""The CharNER family: VNLP's character-level NER model, one entity label per WordPunct token.

CharNER labels the tokens of VNLP's `WordPunctTokenize`, not the Treebank `tokens` every other model
reads, so they go into the `ner_tokens` column beside its `ner` labels. A text is labelled per
character (featurize/charner.py: the input, VNLP's split of texts over 256 characters, and the
per-token mode); it has no fast graphs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vnlp_batch.components.base import AnnotateOptions, Component, ModelOutput
from vnlp_batch.featurize import charner as charner_features
from vnlp_batch.featurize.charner import SEQ_LEN_MAX
from vnlp_batch.models import vnlp_rows
from vnlp_batch.models.spec import ModelSpec
from vnlp_batch.vnlp_env import tensorflow

if TYPE_CHECKING:
    from vnlp_batch.inference.annotate import BatchResult
    from vnlp_batch.inference.onnx_model import LoadedModel
    from vnlp_batch.weights.calibration import Calibration, CalibrationHead


class CharNer(Component):
    decoding = "per_char"
    own_tokens = True

    def tokenize(self, text: str) -> list[str]:
        return vnlp_rows.module("tokenizer").WordPunctTokenize(text)

    # --- VNLP's own rows ---------------------------------------------------------------------

    def vnlp_inputs(self, spec: ModelSpec, word_punct_tokens: list[str]) -> np.ndarray:
        """VNLP's CharNER._predict_char_level input for one text of at most SEQ_LEN_MAX chars."""
        m = vnlp_rows.module(spec.module)
        chars = list(" ".join(word_punct_tokens))
        sequences = vnlp_rows.keras_tokenizer(m.TOKENIZER_CHAR_LOC).texts_to_sequences([chars])
        padded = tensorflow().keras.preprocessing.sequence.pad_sequences(
            sequences, maxlen=m.SEQ_LEN_MAX, padding=m.PADDING_STRAT
        )
        return np.asarray(padded, np.float32)

    def _texts(self, spec: ModelSpec, texts: Sequence[str], budget: int) -> Iterator[list[str]]:
        """Sample sentences whose text fits the model's input (VNLP splits longer ones)."""
        for sentence in vnlp_rows.sample_sentences(spec, texts, budget):
            if len(" ".join(sentence.tokens)) <= SEQ_LEN_MAX:
                yield sentence.tokens

    def vnlp_batches(self, spec: ModelSpec, texts: Sequence[str], rows: int) -> Iterator[list[np.ndarray]]:
        for tokens in self._texts(spec, texts, 10**9):
            yield [self.vnlp_inputs(spec, tokens)]

    def calibrate(self, spec: ModelSpec, head: CalibrationHead, corpus: Sequence[str]) -> Calibration:
        """Calibrated on the characters of tokens (not the spaces between them, nor the padding)."""
        rows, positions = [], []
        for tokens in self._texts(spec, corpus, 4 * head.tokens):
            joined = " ".join(tokens)
            rows.append(self.vnlp_inputs(spec, tokens))
            positions.append(np.array([c != " " for c in joined] + [False] * (SEQ_LEN_MAX - len(joined))))
        head([np.concatenate(rows)])
        features = np.concatenate(head.features)[np.stack(positions)]
        head.spread_logits(features)
        head.refit(features)
        return head.result(head.logits(features).argmax(axis=1)[:, None])

    # --- annotation --------------------------------------------------------------------------

    def annotate(
        self,
        model: LoadedModel,
        texts: Sequence[str],
        tokens: Sequence[list[str]],
        upstream: Sequence[ModelOutput],
        result: BatchResult,
        options: AnnotateOptions,
    ) -> ModelOutput:
        spec = model.spec
        labels = model.metadata.labels(spec.output_groups[0].name)
        leaves, owners = [], []
        ner_tokens: list[list[str] | None] = []
        for row, text in enumerate(texts):
            row_tokens = self.tokenize(text)
            ner_tokens.append(row_tokens)
            try:
                parts = charner_features.split_for_length(row_tokens)
            except ValueError as exc:
                result.fail(row, spec.name, str(exc))
                ner_tokens[row] = None
                continue
            leaves += parts
            owners += [row] * len(parts)
        ner: list[list[str] | None] = [[] if t is not None else None for t in ner_tokens]
        if leaves:
            char_probs = model([np.concatenate([charner_features.charner_inputs(leaf) for leaf in leaves])])
            chars = char_probs.argmax(axis=-1)
            if options.keep_probs:  # per row: its leaves' (leaves, 256, classes) character probabilities
                kept: list[list[np.ndarray]] = [[] for _ in texts]
                for row, p in zip(owners, char_probs, strict=True):
                    kept[row].append(p)
                result.probs[spec.name] = [np.stack(k) if k else None for k in kept]
            for leaf, row, char_labels in zip(leaves, owners, chars, strict=True):
                ner[row] += [labels[k] for k in charner_features.decode_entities(leaf, char_labels)]  # type: ignore[operator]
        return ModelOutput(ner, {spec.task: ner, "ner_tokens": ner_tokens})
