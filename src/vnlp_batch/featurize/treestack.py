"""TreeStackPoS and TreeStackDP inputs, equal to VNLP 0.2.4's `process_single_word_input`
(`part_of_speech_tagger/_treestack_utils.py`, `dependency_parser/_treestack_utils.py`).

Everything that does not depend on the model's own predictions is computed once per sentence
(`treestack_static`, `treestack_dp_static`); the decoder adds the prediction history at each step
(`treestack_pos_row`, `treestack_dp_row`). What VNLP does, and what is reproduced:

- Word id: with WORD_FORM="whole", a token not in the TB vocabulary (case-sensitive test on the raw
  token) is replaced by its stem (the analysis's text before the first `+`) when the stem is in it;
  then `preprocess_word` (’→', Turkish lower-casing, every numeric char → "0") and a lookup, `<OOV>`=1.
- Tags: the analysis with `^` → `+`, `split("+")[1:]`, stemmer tag ids, pre-padded/truncated to 15.
- Context windows of 40 words: left pre-padded, right post-padded. TreeStackPoS slides them over
  longer sentences. TreeStackDP's function does not: for t > 40, or more than 40 tokens after t, its
  final `reshape` fails with ValueError — mirrored here (VNLP's class refuses sentences > 40 anyway).
- TreeStackDP's PoS ids: `texts_to_sequences([pos_labels])[0]` on the whole label list; the PoS label
  tokenizer has no OOV token, so an unknown label — notably '' (what VNLP's PoS taggers return for
  output 0) — is *dropped*, shifting later ids left; `pos_ids[t]` then fails past the end (IndexError).
  Mirrored.
- Deliberate deviation (README, "Deviations from VNLP 0.2.4"): TreeStackDP gets the token list as
  `whole_words_in_sentence`; VNLP 0.2.4 passes the sentence string, so its `zip` walks characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vnlp_batch.featurize.vocab import ENCODING_CACHE_SIZE, keras_vocab, pad_ids, readonly
from vnlp_batch.featurize.windows import WINDOW, context_windows_all, pad_context
from vnlp_batch.models.resources import POS_LABELS, STEMMER_TAGS, TB_WORDS

TAG_MAX_LEN = 15
POS_VECTOR_SIZE = 18  # len(PoS label word_index) + 1
ARC_VECTOR_SIZE = WINDOW + 1  # 0 = root, k = the k-th token
LABEL_VECTOR_SIZE = 49  # len(DP label word_index) + 1
ARC_LABEL_VECTOR_LEN = ARC_VECTOR_SIZE + LABEL_VECTOR_SIZE

_TURKISH_UPPER = {"İ": "i", "I": "ı", "Ğ": "ğ", "Ü": "ü", "Ö": "ö", "Ş": "ş", "Ç": "ç"}


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def preprocess_word(word: str) -> str:
    """VNLP's `preprocess_word`: ’→', `Normalizer.lower_case`, then every numeric character → "0"."""
    word = word.replace("’", "'")
    for upper, lower in _TURKISH_UPPER.items():  # Normalizer.lower_case, same replacements in order
        word = word.replace(upper, lower)
    word = word.lower()
    return "".join("0" if char.isnumeric() else char for char in word)


def plus_form(analysis: str) -> str:
    """The analysis as TreeStack reads it: StemmerAnalyzer's `^DB` back to `+DB` (VNLP: replace("^", "+"))."""
    return analysis.replace("^", "+")


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def word_id(whole_word: str, analysis: str) -> int:
    """The TB word id VNLP feeds for a token with this analysis (WORD_FORM="whole")."""
    vocabulary = keras_vocab(TB_WORDS)
    stem = plus_form(analysis).split("+")[0]
    word = stem if whole_word not in vocabulary and stem in vocabulary else whole_word
    (index,) = vocabulary.ids([preprocess_word(word)])  # the TB tokenizer has <OOV>: always one id
    return index


@lru_cache(maxsize=ENCODING_CACHE_SIZE)
def tag_row(analysis: str) -> np.ndarray:
    """The analysis's tag ids, pre-padded/truncated to 15: int32, read-only."""
    return readonly(pad_ids(keras_vocab(STEMMER_TAGS).ids(plus_form(analysis).split("+")[1:]), TAG_MAX_LEN))


@dataclass(frozen=True)
class TreeStackStatic:
    """The prediction-independent TreeStack inputs of one sentence, int32, one row per token."""

    word: np.ndarray  # (n, 1)
    tags: np.ndarray  # (n, 15)
    lc_words: np.ndarray  # (n, 40)
    lc_tags: np.ndarray  # (n, 40, 15)
    rc_words: np.ndarray  # (n, 40)
    rc_tags: np.ndarray  # (n, 40, 15)

    @property
    def n(self) -> int:
        """Number of tokens."""
        return self.word.shape[0]


def treestack_static(tokens: Sequence[str], analyses: Sequence[str]) -> TreeStackStatic:
    """Static inputs from the tokens and their stemmer analyses (`^DB` or `+DB` form, either works)."""
    if len(tokens) != len(analyses):
        raise ValueError(f"{len(tokens)} tokens but {len(analyses)} analyses")
    n = len(tokens)
    words = np.fromiter((word_id(w, a) for w, a in zip(tokens, analyses, strict=True)), np.int32, n)
    tags = np.stack([tag_row(a) for a in analyses]) if n else np.zeros((0, TAG_MAX_LEN), np.int32)
    lc_words, rc_words = context_windows_all(words)
    lc_tags, rc_tags = context_windows_all(tags)
    return TreeStackStatic(words[:, None], tags, lc_words, lc_tags, rc_words, rc_tags)


def _one_hot_history(values: Sequence[int], t: int, width: int) -> np.ndarray:
    # VNLP: zero rows, then to_categorical of the first t values, pre-padded to 40 and cut to the
    # last 40. Fancy assignment raises IndexError for values >= width and wraps negative values to
    # the last columns, exactly as to_categorical does.
    if len(values) < t:
        raise ValueError(f"step {t} needs {t} previous predictions, got {len(values)}")
    history = np.zeros((WINDOW, width), np.float32)
    k = min(t, WINDOW)
    history[np.arange(WINDOW - k, WINDOW), np.asarray(values[t - k : t], np.int64)] = 1
    return history


def pos_history(pos_preds: Sequence[int], t: int) -> np.ndarray:
    """TreeStackPoS's left-context PoS input at step t: (40, 18) float32 one-hots of `pos_preds[:t]`."""
    return _one_hot_history(pos_preds, t, POS_VECTOR_SIZE)


def treestack_pos_row(
    static: TreeStackStatic, t: int, pos_preds: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TreeStackPoS's seven inputs for token t, batch of 1, float32: word (1, 1), tags (1, 15),
    lc_words (1, 40), lc_tags (1, 40, 15), lc_pos (1, 40, 18), rc_words (1, 40), rc_tags (1, 40, 15).

    `pos_preds` holds the model's integer predictions for tokens 0..t-1 (longer is fine).
    """
    if not 0 <= t < static.n:
        raise IndexError(f"token {t} of a {static.n}-token sentence")
    row = slice(t, t + 1)
    return (
        static.word[row].astype(np.float32),
        static.tags[row].astype(np.float32),
        static.lc_words[row].astype(np.float32),
        static.lc_tags[row].astype(np.float32),
        pos_history(pos_preds, t)[None],
        static.rc_words[row].astype(np.float32),
        static.rc_tags[row].astype(np.float32),
    )


def dp_pos_ids(pos_labels: Sequence[str]) -> np.ndarray:
    """TreeStackDP's PoS ids: labels not in the PoS vocabulary (e.g. '') are dropped, as VNLP does."""
    return np.asarray(keras_vocab(POS_LABELS).ids(list(pos_labels)), np.int32)


@dataclass(frozen=True)
class TreeStackDPStatic:
    """The prediction-independent TreeStackDP inputs of one sentence."""

    base: TreeStackStatic
    pos_ids: np.ndarray  # (m,) int32, m <= n (see dp_pos_ids)
    padded_pos: np.ndarray  # (m + 80,) int32: 40 zeros + pos_ids + 40 zeros

    @property
    def n(self) -> int:
        """Number of tokens."""
        return self.base.n


def treestack_dp_static(
    tokens: Sequence[str], analyses: Sequence[str], pos_labels: Sequence[str]
) -> TreeStackDPStatic:
    """Static TreeStackDP inputs: TreeStack's plus the PoS ids (from PoS label strings, e.g. "NOUN")."""
    pos_ids = dp_pos_ids(pos_labels)
    return TreeStackDPStatic(treestack_static(tokens, analyses), pos_ids, pad_context(pos_ids))


def dp_history(arcs: Sequence[int], labels: Sequence[int], t: int) -> np.ndarray:
    """TreeStackDP's left arc‖label input at step t: (40, 90) float32, one-hot arc (41) ‖ label (49)."""
    if t > WINDOW:
        raise ValueError(f"TreeStackDP's input function cannot build step {t} > {WINDOW}")
    return np.concatenate(
        [_one_hot_history(arcs, t, ARC_VECTOR_SIZE), _one_hot_history(labels, t, LABEL_VECTOR_SIZE)], axis=1
    )


def treestack_dp_row(
    static: TreeStackDPStatic, t: int, arcs: Sequence[int], labels: Sequence[int]
) -> tuple[np.ndarray, ...]:
    """TreeStackDP's ten inputs for token t, batch of 1, float32: word (1, 1), tags (1, 15), pos (1, 1),
    lc_words (1, 40), lc_tags (1, 40, 15), lc_pos (1, 40), lc_arc_label (1, 40, 90), rc_words (1, 40),
    rc_tags (1, 40, 15), rc_pos (1, 40).

    Raises IndexError where VNLP's `pos_tags[t]` does (dropped PoS labels) and ValueError where its
    reshape does (t > 40, or more than 40 tokens after t).
    """
    n = static.n
    if not 0 <= t < n:
        raise IndexError(f"token {t} of a {n}-token sentence")
    if t >= static.pos_ids.shape[0]:
        raise IndexError(f"no PoS id for token {t}: {n - static.pos_ids.shape[0]} PoS labels were dropped")
    if t > WINDOW or n - 1 - t > WINDOW:
        raise ValueError(
            f"TreeStackDP's input function fails for token {t} of a {n}-token sentence "
            f"(more than {WINDOW} tokens on one side)"
        )
    base, row = static.base, slice(t, t + 1)
    # t = n-1 gets all-zero right PoS in VNLP; the window reads zeros there too, because then m = n.
    padded = static.padded_pos
    return (
        base.word[row].astype(np.float32),
        base.tags[row].astype(np.float32),
        static.pos_ids[row, None].astype(np.float32),
        base.lc_words[row].astype(np.float32),
        base.lc_tags[row].astype(np.float32),
        padded[None, t : t + WINDOW].astype(np.float32),
        dp_history(arcs, labels, t)[None],
        base.rc_words[row].astype(np.float32),
        base.rc_tags[row].astype(np.float32),
        padded[None, t + WINDOW + 1 : t + 2 * WINDOW + 1].astype(np.float32),
    )
