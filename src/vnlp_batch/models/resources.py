"""VNLP's resource files — tokenizers, the SentencePiece model, the stemmer's lexica — by their path
inside the installed `vnlp` package, and where that is.

Declarations list the resources each model's inputs are built from (their sha256 goes into ONNX
metadata); the featurizers read them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

SPU_MODEL = "resources/SPU_word_tokenizer_16k.model"
TB_WORDS = "resources/TB_word_tokenizer.json"
POS_LABELS = "part_of_speech_tagger/resources/PoS_label_tokenizer.json"
NER_LABELS = "named_entity_recognizer/resources/NER_label_tokenizer.json"
DP_LABELS = "dependency_parser/resources/DP_label_tokenizer.json"
CHARNER_CHARS = "named_entity_recognizer/resources/CharNER_char_tokenizer.json"
STEMMER_CHARS = "stemmer_morph_analyzer/resources/Stemmer_char_tokenizer.json"
STEMMER_TAGS = "stemmer_morph_analyzer/resources/Stemmer_morph_tag_tokenizer.json"
STEMMER_LEXICA = (
    "stemmer_morph_analyzer/resources/ExactLookup.txt",
    "stemmer_morph_analyzer/resources/StemListWithFlags_v2.txt",
    "stemmer_morph_analyzer/resources/Suffixes&Tags.txt",
)


@cache
def vnlp_resource(relative: str) -> Path:
    """Absolute path of a file shipped inside the installed `vnlp` package."""
    from vnlp_batch.vnlp_env import vnlp_package_dir

    return vnlp_package_dir() / relative
