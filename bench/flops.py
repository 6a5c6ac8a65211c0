"""FLOPs of the *minimal exact* computation of each model on a set of sentences.

Units: a GRU step with H units on an I-wide input costs 3·H·(I + H) multiply-adds (MAC, its three
gates' input and recurrent products); 1 MAC = 2 FLOPs. "Minimal exact" means the least arithmetic that
still gives VNLP's outputs exactly (same operations per output element), counted as:

- per-word encoders (SPUContext WORD_RNN, the stemmer's surface BiGRUs and candidate encoders,
  TreeStack `tag_rnn`): once per *distinct* word form (tag sequence, candidate list) in the measured
  set, plus once for the all-padding row; all their time steps (the 8 pieces, 15 characters, …);
- stacks that read padding first (left contexts, history stacks, layer 1 of a `go_backwards` right
  context, the stemmer's context GRUs): only their real steps — the state after k padding rows is a
  per-model constant — i.e. Σ_t min(t, 40) steps on the left and Σ_t min(n−1−t, 40) on the right,
  n(n−1)/2 each for n ≤ 40;
- layer 2 of a 2-layer `go_backwards` stack (right contexts of SPUContextNER/DP, TreeStack `rc_rnn`)
  reads the padding *last*: all 40 steps for every token — on its real steps the full GRU step, on
  the padding steps the recurrent product only (3·H·H: its input there is layer 1's output after k
  padding rows, whose projection is one of 40 per-model constants);
- the MLP (and the stemmer's scoring head) once per token;
- CharNER and sentiment: every GRU step over the 256 padded positions of each input text (leaf), since
  no masking lets any but the first direction's pad prefix be skipped; their pad prefixes are ignored.

Embedding lookups, concatenations, activations and argmaxes are not counted. Identical context
windows are counted each time (the fast path runs them once per batch), so "useful" GFLOP/s of the fast
path is slightly flattered where sentences start or end alike.
"""

from __future__ import annotations

from collections.abc import Sequence

WINDOW = 40


def gru(h: int, i: int) -> int:
    """MAC of one GRU step (Keras reset_after GRU: 3 gates, input and recurrent kernels)."""
    return 3 * h * (i + h)


def _backward_layer2(tokens: int, right: int, h: int) -> int:
    """MAC of layer 2 of a two-layer go_backwards stack: `right` real steps, the rest padding."""
    return right * gru(h, h) + (tokens * WINDOW - right) * 3 * h * h


def _real_steps(lengths: Sequence[int]) -> tuple[int, int, int]:
    """(tokens, Σ min(t, 40), Σ min(n−1−t, 40)) over sentences of these lengths."""
    tokens = left = right = 0
    for n in lengths:
        tokens += n
        for t in range(n):
            left += min(t, WINDOW)
            right += min(n - 1 - t, WINDOW)
    return tokens, left, right


def _dp_chunks(tokens: Sequence[Sequence[str]]) -> list[list[str]]:
    # DP models parse sentences over 40 tokens in chunks of 40 (README, Deviations).
    return [list(s[i : i + WINDOW]) for s in tokens for i in range(0, len(s), WINDOW)]


def spucontext_pos(tokens: Sequence[Sequence[str]]) -> int:
    """SPUContextPoS: WORD_RNN = 8 pieces × GRU128(128) per distinct word; GRU128 left and right contexts
    (one layer each, real steps); GRU128 history on 18-wide one-hots (real steps); MLP 512→256→128→18."""
    from vnlp_batch.featurize.spucontext import piece_row

    words = len({piece_row(w).tobytes() for s in tokens for w in s}) + 1  # + the padding row
    n, left, right = _real_steps([len(s) for s in tokens])
    mac = words * 8 * gru(128, 128)
    mac += left * (gru(128, 128) + gru(128, 18)) + right * gru(128, 128)
    mac += n * (512 * 256 + 256 * 128 + 128 * 18)
    return 2 * mac


def _spucontext_big(tokens: Sequence[Sequence[str]], history: int, outputs: int) -> int:
    """SPUContextNER/DP: WORD_RNN = 8 × [GRU256(128), GRU256(256)] per distinct word; left stack 2×GRU256
    (real steps); right stack go_backwards: layer 1 real steps, layer 2 all 40; history 2×GRU256 on
    `history`-wide one-hots (real steps); MLP 1024→512→256→outputs."""
    from vnlp_batch.featurize.spucontext import piece_row

    words = len({piece_row(w).tobytes() for s in tokens for w in s}) + 1
    n, left, right = _real_steps([len(s) for s in tokens])
    mac = words * 8 * (gru(256, 128) + gru(256, 256))
    mac += left * 2 * gru(256, 256)  # left context, both layers
    mac += right * gru(256, 256) + _backward_layer2(n, right, 256)  # right context, layers 1 and 2
    mac += left * (gru(256, history) + gru(256, 256))  # history stack
    mac += n * (1024 * 512 + 512 * 256 + 256 * outputs)
    return 2 * mac


def spucontext_ner(tokens):
    return _spucontext_big(tokens, history=5, outputs=5)


def spucontext_dp(tokens):
    return _spucontext_big(_dp_chunks(tokens), history=90, outputs=90)


def stemmer(tokens: Sequence[Sequence[str]]) -> int:
    """StemmerAnalyzer: per distinct token, two surface BiGRU256 encoders (left, right) over 15 chars of
    32-wide embeddings; per distinct token, its real candidates (≤ 10) through the stem BiGRU128
    (10 chars) and tag BiGRU128 (15 tags), 32-wide inputs (empty slots are a constant); per token the
    left GRU256 and right go_backwards GRU256 on 512-wide surface encodings (real steps) and the
    scoring head (Dot 10×256, Dense 10→20→10)."""
    from vnlp_batch.featurize.candidates import candidate_strings

    distinct = {w for s in tokens for w in s}
    candidates = sum(min(len(candidate_strings(w)), 10) for w in distinct)
    n, left, right = _real_steps([len(s) for s in tokens])
    mac = (len(distinct) + 1) * 2 * 2 * 15 * gru(256, 32)
    mac += candidates * 2 * (10 * gru(128, 32) + 15 * gru(128, 32))
    mac += (left + right) * gru(256, 512)
    mac += n * (10 * 256 + 10 * 20 + 20 * 10)
    return 2 * mac


def _tag_rows(analyses: Sequence[Sequence[str]]) -> int:
    from vnlp_batch.featurize.treestack import tag_row

    return len({tag_row(a).tobytes() for s in analyses for a in s}) + 1


def treestack_pos(tokens, analyses) -> int:
    """TreeStackPoS: tag_rnn = 15 × [GRU128(32), GRU128(128)] per distinct tag sequence; lc_rnn
    2×GRU256 on 274-wide rows (history: real steps); rc_rnn go_backwards 2×GRU256 on 256-wide rows
    (layer 1 real steps, layer 2 all 40); MLP 768→256→128→18."""
    n, left, right = _real_steps([len(s) for s in tokens])
    mac = _tag_rows(analyses) * 15 * (gru(128, 32) + gru(128, 128))
    mac += left * (gru(256, 274) + gru(256, 256))
    mac += right * gru(256, 256) + _backward_layer2(n, right, 256)
    mac += n * (768 * 256 + 256 * 128 + 128 * 18)
    return 2 * mac


def treestack_dp(tokens, analyses) -> int:
    """TreeStackDP: tag_rnn as TreeStackPoS; lc_rnn 2×GRU384 on 264-wide rows and lc_arc_label_rnn
    2×GRU384 on 90-wide one-hots (real steps); rc_rnn go_backwards 2×GRU384 on 264-wide rows (layer 1
    real steps, layer 2 all 40); MLP 1416→1024→512→90."""
    chunks = _dp_chunks(tokens)
    n, left, right = _real_steps([len(s) for s in chunks])
    mac = _tag_rows(analyses) * 15 * (gru(128, 32) + gru(128, 128))
    mac += left * (gru(384, 264) + gru(384, 384))
    mac += left * (gru(384, 90) + gru(384, 384))
    mac += right * gru(384, 264) + _backward_layer2(n, right, 384)
    mac += n * (1416 * 1024 + 1024 * 512 + 512 * 90)
    return 2 * mac


def charner(texts: Sequence[str]) -> int:
    """CharNER: per input text (VNLP splits texts over 256 chars into leaves), 5 BiGRU128 layers over 256
    positions (layer 1 on 32-wide char embeddings, layers 2–5 on 256-wide), Dense 256→32→5 per position."""
    from vnlp.tokenizer import WordPunctTokenize

    from vnlp_batch.featurize.charner import split_for_length

    leaves = 0
    for text in texts:
        try:
            leaves += len(split_for_length(WordPunctTokenize(text)))
        except ValueError:
            continue
    per_leaf = 256 * 2 * (gru(128, 32) + 4 * gru(128, 256)) + 256 * (256 * 32 + 32 * 5)
    return 2 * leaves * per_leaf


def sentiment(texts: Sequence[str]) -> int:
    """Sentiment (SPUCBiGRU): per leaf text, 3 BiGRU128 layers over 256 positions (128-wide embeddings,
    then 256-wide), average pooling over all 256 positions, Dense 256→16→1."""
    from vnlp_batch.featurize.sentiment import UnsplittableTextError, split_for_length

    leaves = 0
    for text in texts:
        try:
            leaves += len(split_for_length(text).leaves)
        except UnsplittableTextError:
            continue
    per_leaf = 256 * 2 * (gru(128, 128) + 2 * gru(128, 256)) + 256 * 16 + 16
    return 2 * leaves * per_leaf


def minimal_flops(name: str, texts, tokens, analyses=None) -> int:
    if name == "spucontext_pos":
        return spucontext_pos(tokens)
    if name == "spucontext_ner":
        return spucontext_ner(tokens)
    if name == "spucontext_dp":
        return spucontext_dp(tokens)
    if name == "stemmer":
        return stemmer(tokens)
    if name == "treestack_pos":
        return treestack_pos(tokens, analyses)
    if name == "treestack_dp":
        return treestack_dp(tokens, analyses)
    if name == "charner":
        return charner(texts)
    if name == "sentiment":
        return sentiment(texts)
    raise KeyError(name)
