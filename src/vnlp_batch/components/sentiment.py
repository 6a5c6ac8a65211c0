"""The sentiment family: VNLP's SPUCBiGRU sentiment analyzer, one positive-class probability per text.

A text is read as SentencePiece ids, pre-padded to 256; a longer one is split and its halves'
probabilities averaged as VNLP does (featurize/sentiment.py). It has no fast graphs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vnlp_batch.components.base import AnnotateOptions, Component, ModelOutput
from vnlp_batch.featurize import sentiment as sentiment_features
from vnlp_batch.featurize.sentiment import TEXT_MAX_LEN
from vnlp_batch.models import vnlp_rows
from vnlp_batch.models.spec import ModelSpec, OutputGroup

if TYPE_CHECKING:
    from vnlp_batch.inference.annotate import BatchResult
    from vnlp_batch.inference.onnx_model import LoadedModel
    from vnlp_batch.weights.calibration import Calibration, CalibrationHead


class Sentiment(Component):
    decoding = "per_text"
    labels_whole_text = True

    def group_labels(self, spec: ModelSpec, group: OutputGroup) -> list[str]:
        return [group.name]  # a single sigmoid: the probability of its one class

    # --- VNLP's own rows ---------------------------------------------------------------------

    def vnlp_inputs(self, spec: ModelSpec, text: str) -> np.ndarray:
        """VNLP's process_text_input: SentencePiece ids, pre-padded to TEXT_MAX_LEN, never truncated."""
        m, utils = vnlp_rows.module(spec.module), vnlp_rows.module(spec.builder_module)
        return np.asarray(utils.process_text_input(text, m.spu_tokenizer_word, m.TEXT_MAX_LEN), np.float32)

    def vnlp_batches(self, spec: ModelSpec, texts: Sequence[str], rows: int) -> Iterator[list[np.ndarray]]:
        for sentence in vnlp_rows.sample_sentences(spec, texts, 10**9):
            x = self.vnlp_inputs(spec, sentence.text or "")
            if x.shape[1] == TEXT_MAX_LEN:  # longer texts go through VNLP's split-and-average
                yield [x]

    def calibrate(self, spec: ModelSpec, head: CalibrationHead, corpus: Sequence[str]) -> Calibration:
        """Calibrated on every sample text: its bias centres the logits, so both classes occur."""
        batch = [self.vnlp_inputs(spec, text) for text in corpus]
        batch = [b for b in batch if b.shape[1] == TEXT_MAX_LEN]  # see vnlp_batches
        head([np.concatenate(batch)])
        features = np.concatenate(head.features)
        head.spread_logits(features)
        z = head.logits(features)[:, 0]
        head.shift_bias(-np.median(z))
        return head.result((head.logits(features)[:, 0] > 0).astype(int)[:, None])

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
        splits: list[sentiment_features.SentimentSplit | None] = []
        for row, text in enumerate(texts):
            try:
                splits.append(sentiment_features.split_for_length(text))
            except sentiment_features.UnsplittableTextError as exc:
                result.fail(row, model.spec.name, str(exc))
                splits.append(None)
        done = [s for s in splits if s is not None]
        probs = model([np.concatenate([s.inputs for s in done])])[:, 0] if done else np.zeros(0, np.float32)
        values: list[float | None] = []
        start = 0
        for split in splits:
            if split is None:
                values.append(None)
                continue
            leaf_probs = probs[start : start + len(split.leaves)]
            start += len(split.leaves)
            values.append(float(split.combine(leaf_probs)))
        return ModelOutput(columns={model.spec.task: values})
