"""A generated Turkish-like corpus that does not flatter per-word caches.

Words are pseudo-Turkish: roots built from syllables (with two-way and four-way vowel harmony for the
suffixes), real Turkish suffixes (-lar/-ler, -da/-de, -dan/-den, -ın/-in, -ı/-i, -ya/-ye, -la/-le,
-mış/-miş, -yor, -acak/-ecek, …), proper names with apostrophe suffixes (Kaler'de, Tuzan'ın), numbers
(1987'de, 3), and ~60 real function words at the top of the frequency list. A vocabulary of
`vocabulary` distinct word forms is ranked and tokens are drawn with a Zipf(-Mandelbrot) law
P(rank r) ∝ (r + q)^-s, s = 1.1, q = 2.7.
Sentence lengths (in Treebank tokens, punctuation included) are 5–35, skewed to the short side like
running text (mean ≈ 15–16, as the bundled sample corpus). Everything is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FUNCTION_WORDS = [
    "ve",
    "bir",
    "bu",
    "da",
    "de",
    "için",
    "ile",
    "çok",
    "daha",
    "ama",
    "gibi",
    "olarak",
    "en",
    "o",
    "ne",
    "kadar",
    "sonra",
    "var",
    "yok",
    "her",
    "şey",
    "ben",
    "sen",
    "biz",
    "onlar",
    "göre",
    "değil",
    "ise",
    "şu",
    "olan",
    "mi",
    "mı",
    "veya",
    "hem",
    "ki",
    "diye",
    "kendi",
    "ancak",
    "bile",
    "artık",
    "hiç",
    "yine",
    "önce",
    "şimdi",
    "zaman",
    "yeni",
    "büyük",
    "iyi",
    "küçük",
    "ilk",
    "son",
    "bütün",
    "bazı",
    "başka",
    "aynı",
    "böyle",
    "öyle",
    "nasıl",
    "neden",
]

ONSETS = ["b", "c", "ç", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "ş", "t", "v", "y", "z"] + [
    ""
] * 3
VOWELS = ["a", "e", "ı", "i", "o", "ö", "u", "ü"]
CODAS = ["", "", "", "n", "r", "l", "k", "m", "s", "t", "z", "ş", "y"]
BACK = set("aıou")
ROUNDED = set("oöuü")

# Suffix templates: A = a/e (two-way harmony), I = ı/i/u/ü (four-way), D = d/t after a voiceless stop.
NOUN_SUFFIXES = ("lAr DA DAn In I yA lA lArI lArIn lArDA lArDAn sI m n Im In ImIz ki DAki lIk sIz lI Ca",)[
    0
].split()
VERB_SUFFIXES = [
    "DI",
    "DIm",
    "DIk",
    "mIş",
    "Iyor",
    "Iyorum",
    "AcAk",
    "mAk",
    "mA",
    "Ir",
    "Ar",
    "sA",
    "ArAk",
    "Ip",
    "An",
    "DIğI",
    "mAsI",
    "Abil",
]
APOSTROPHE_SUFFIXES = ["'DA", "'DAn", "'In", "'yA", "'lA", "'I", "'A"]


def _last_vowel(word: str) -> str:
    for ch in reversed(word):
        if ch in VOWELS:
            return ch
    return "e"


def _harmonize(stem: str, template: str) -> str:
    out = stem
    for symbol in template:
        v = _last_vowel(out)
        if symbol == "A":
            out += "a" if v in BACK else "e"
        elif symbol == "I":
            if v in BACK:
                out += "u" if v in ROUNDED else "ı"
            else:
                out += "ü" if v in ROUNDED else "i"
        elif symbol in "DC":
            voiceless = out.rstrip("'")[-1:] in tuple("çfhkpsşt")
            out += {"D": "td", "C": "çc"}[symbol][0 if voiceless else 1]
        else:
            out += symbol
    return out


def _root(rng: np.random.Generator) -> str:
    syllables = int(rng.choice([1, 2, 2, 3, 3, 4]))
    return "".join(
        ONSETS[rng.integers(len(ONSETS))]
        + VOWELS[rng.integers(len(VOWELS))]
        + CODAS[rng.integers(len(CODAS))]
        for _ in range(syllables)
    )


def build_vocabulary(size: int, seed: int = 0) -> list[str]:
    """`size` distinct word forms in rank order (function words first, then shuffled generated forms)."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = dict.fromkeys(FUNCTION_WORDS)
    roots = [_root(rng) for _ in range(max(size // 3, 1000))]
    while len(words) < size:
        root = roots[rng.integers(len(roots))]
        kind = rng.random()
        if kind < 0.45:
            k = int(rng.integers(0, 3))
            word = root
            for _ in range(k):
                word = _harmonize(word, NOUN_SUFFIXES[rng.integers(len(NOUN_SUFFIXES))])
        elif kind < 0.8:
            word = _harmonize(root, VERB_SUFFIXES[rng.integers(len(VERB_SUFFIXES))])
            if rng.random() < 0.3:
                word = _harmonize(word, "lAr")
        elif kind < 0.95:
            suffix = APOSTROPHE_SUFFIXES[rng.integers(len(APOSTROPHE_SUFFIXES))]
            if root[-1] in VOWELS and suffix in ("'A", "'I", "'In"):
                suffix = "'y" + suffix[1:] if suffix != "'In" else "'nIn"  # buffer consonants
            word = _harmonize(root.capitalize(), suffix)
        else:
            year = int(rng.integers(1900, 2030))
            word = _harmonize(str(year), "'DA") if rng.random() < 0.5 else str(int(rng.integers(1, 1000)))
        if word:
            words.setdefault(word, None)
    forms = list(words)
    head, tail = forms[: len(FUNCTION_WORDS)], forms[len(FUNCTION_WORDS) :]
    rng.shuffle(tail)
    return head + tail


@dataclass
class ZipfCorpus:
    vocabulary: list[str]
    s: float = 1.1
    q: float = 2.7  # Mandelbrot's offset: flattens the head as in real text (P(rank 1) ≈ 4 %, not 13 %)

    def __post_init__(self) -> None:
        ranks = np.arange(1, len(self.vocabulary) + 1, dtype=np.float64)
        p = (ranks + self.q) ** -self.s
        self.cdf = np.cumsum(p / p.sum())

    def sentences(self, count: int, seed: int) -> list[str]:
        """`count` sentences of 5–35 Treebank tokens (words, commas and the final period)."""
        rng = np.random.default_rng(seed)
        # Gamma-shaped lengths clipped to 5–35: mean ≈ 15.5 tokens, like running text.
        lengths = np.clip(np.round(rng.gamma(4.0, 3.9, count)), 5, 35).astype(int)
        out = []
        for n in lengths:
            words_needed = n - 1  # the final period
            commas = int(rng.integers(0, 3)) if words_needed > 8 else 0
            words_needed -= commas
            ranks = np.searchsorted(self.cdf, rng.random(words_needed))
            words = [self.vocabulary[min(r, len(self.vocabulary) - 1)] for r in ranks]
            words[0] = words[0][:1].upper() + words[0][1:]
            for pos in sorted(rng.choice(np.arange(1, words_needed), commas, replace=False), reverse=True):
                words[pos - 1] += ","
            out.append(" ".join(words) + ".")
        return out
