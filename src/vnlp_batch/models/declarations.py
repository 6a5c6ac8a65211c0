"""The eight VNLP 0.2.4 models, each with its family's component. Configs, export, verification and
decoding all read these; adding a model of an existing family is adding a declaration here.

Facts here are checked against the installed `vnlp` package by tests/models/test_declarations.py
(weight file names against VNLP's PROD_WEIGHTS_LOC, embedding files against its matrix paths).
"""

from __future__ import annotations

from types import ModuleType

from vnlp_batch.components.charner import CharNer
from vnlp_batch.components.sentiment import Sentiment
from vnlp_batch.components.spucontext.component import SpuContextParser, SpuContextTagger
from vnlp_batch.components.stemmer.component import Stemmer
from vnlp_batch.components.treestack.component import TreeStackParser, TreeStackTagger
from vnlp_batch.models.resources import (
    CHARNER_CHARS,
    DP_LABELS,
    NER_LABELS,
    POS_LABELS,
    SPU_MODEL,
    STEMMER_CHARS,
    STEMMER_LEXICA,
    STEMMER_TAGS,
    TB_WORDS,
)
from vnlp_batch.models.spec import Embedding, ModelSpec, OutputGroup
from vnlp_batch.vnlp_env import vnlp_module

# Where VNLP downloads its `*_prod.weights` and `.matrix` files from (its modules' `*_LINK`
# constants are this URL followed by the file name): the default of `weights.base_url`.
VNLP_BASE_URL = "https://vnlp-model-weights.s3.eu-west-1.amazonaws.com/"

SPU_MATRIX = "SPUTokenized_word_embedding_16k.matrix"
TB_MATRIX = "TBWTokenized_word_embedding.matrix"

# The SPUContext family shares one builder signature.
_SPU_CONTEXT_ARGS = (
    "TOKEN_PIECE_MAX_LEN",
    "SENTENCE_MAX_LEN",
    "WORD_EMBEDDING_VOCAB_SIZE",
    "LABEL_VOCAB_SIZE",
    "WORD_EMBEDDING_VECTOR_SIZE",
    "WORD_EMBEDDING_MATRIX",
    "NUM_RNN_UNITS",
    "NUM_RNN_STACKS",
    "FC_UNITS_MULTIPLIER",
    "DROPOUT",
)
_SPU_CONTEXT_INPUTS = ("word", "left_context", "right_context", "history")
_SPU_CONTEXT_HP = ("TOKEN_PIECE_MAX_LEN", "SENTENCE_MAX_LEN", "NUM_RNN_UNITS", "NUM_RNN_STACKS")
_DP_GROUPS = (
    OutputGroup("arc", 0, 41, reserved_zero=False, token_pointer=True),
    OutputGroup("rel", 41, 90, reserved_zero=True),
)


def _keras_vocab_size(path_constant: str):
    """VNLP computes the stemmer's vocab sizes inside __init__ from its tokenizer JSONs; so do we."""

    def size(module: ModuleType) -> int:
        tokenizer = vnlp_module("utils").load_keras_tokenizer(getattr(module, path_constant))
        return len(tokenizer.word_index) + 1

    return size


STEMMER = ModelSpec(
    name="stemmer",
    vnlp_class="StemmerAnalyzer",
    task="morph",
    component=Stemmer(),
    module="stemmer_morph_analyzer.stemmer_morph_analyzer",
    builder_module="stemmer_morph_analyzer._melik_utils",
    builder="create_stemmer_model",
    builder_args=(
        "NUM_MAX_ANALYSIS",
        "STEM_MAX_LEN",
        "CHAR_VOCAB_SIZE",
        "CHAR_EMBED_SIZE",
        "STEM_RNN_DIM",
        "TAG_MAX_LEN",
        "TAG_VOCAB_SIZE",
        "TAG_EMBED_SIZE",
        "TAG_RNN_DIM",
        "SENTENCE_MAX_LEN",
        "SURFACE_TOKEN_MAX_LEN",
        "EMBED_JOIN_TYPE",
        "DROPOUT",
        "NUM_RNN_STACKS",
    ),
    derived={
        "CHAR_VOCAB_SIZE": _keras_vocab_size("TOKENIZER_CHAR_LOC"),
        "TAG_VOCAB_SIZE": _keras_vocab_size("TOKENIZER_TAG_LOC"),
    },
    weights_file="Stemmer_Shen_prod.weights",
    inputs=("stems", "tags", "left_surface", "right_surface"),
    output_activation="softmax",
    output_groups=(OutputGroup("candidate", 0, 10, reserved_zero=False),),
    label_tokenizer=None,
    resources=(STEMMER_CHARS, STEMMER_TAGS, *STEMMER_LEXICA),
    hyperparameters=(
        "NUM_MAX_ANALYSIS",
        "STEM_MAX_LEN",
        "TAG_MAX_LEN",
        "SENTENCE_MAX_LEN",
        "SURFACE_TOKEN_MAX_LEN",
    ),
)

SPUCONTEXT_POS = ModelSpec(
    name="spucontext_pos",
    vnlp_class="SPUContextPoS",
    task="pos",
    component=SpuContextTagger(),
    module="part_of_speech_tagger.spu_context_pos",
    builder_module="part_of_speech_tagger._spu_context_utils",
    builder="create_spucontext_pos_model",
    builder_args=_SPU_CONTEXT_ARGS,
    weights_file="PoS_SPUContext_prod.weights",
    embedding=Embedding(SPU_MATRIX, index=0),
    inputs=_SPU_CONTEXT_INPUTS,
    output_activation="softmax",
    output_groups=(OutputGroup("pos", 0, 18, reserved_zero=True),),
    label_tokenizer=POS_LABELS,
    resources=(SPU_MODEL, POS_LABELS),
    hyperparameters=_SPU_CONTEXT_HP,
)

TREESTACK_POS = ModelSpec(
    name="treestack_pos",
    vnlp_class="TreeStackPoS",
    task="pos",
    component=TreeStackTagger(),
    module="part_of_speech_tagger.treestack_pos",
    builder_module="part_of_speech_tagger._treestack_utils",
    builder="create_pos_tagger_model",
    builder_args=(
        "WORD_EMBEDDING_VOCAB_SIZE",
        "WORD_EMBEDDING_VECTOR_SIZE",
        "WORD_EMBEDDING_MATRIX",
        "POS_VOCAB_SIZE",
        "SENTENCE_MAX_LEN",
        "TAG_MAX_LEN",
        "NUM_RNN_STACKS",
        "TAG_NUM_RNN_UNITS",
        "LC_NUM_RNN_UNITS",
        "RC_NUM_RNN_UNITS",
        "DROPOUT",
        "TAG_EMBEDDING_MATRIX",
        "FC_UNITS_MULTIPLIERS",
    ),
    weights_file="PoS_TreeStack_prod.weights",
    embedding=Embedding(TB_MATRIX, index=1),
    inputs=("word", "tags", "left_words", "left_tags", "left_pos", "right_words", "right_tags"),
    output_activation="sigmoid",
    output_groups=(OutputGroup("pos", 0, 18, reserved_zero=True),),
    label_tokenizer=POS_LABELS,
    resources=(TB_WORDS, STEMMER_TAGS, POS_LABELS),
    needs=("stemmer",),
    hyperparameters=("SENTENCE_MAX_LEN", "TAG_MAX_LEN", "WORD_FORM", "NUM_RNN_STACKS"),
)

SPUCONTEXT_NER = ModelSpec(
    name="spucontext_ner",
    vnlp_class="SPUContextNER",
    task="ner",
    component=SpuContextTagger(),
    module="named_entity_recognizer.spu_context_ner",
    builder_module="named_entity_recognizer._spu_context_utils",
    builder="create_spucontext_ner_model",
    builder_args=_SPU_CONTEXT_ARGS,
    weights_file="NER_SPUContext_prod.weights",
    embedding=Embedding(SPU_MATRIX, index=0),
    inputs=_SPU_CONTEXT_INPUTS,
    output_activation="softmax",
    output_groups=(OutputGroup("ner", 0, 5, reserved_zero=True),),
    label_tokenizer=NER_LABELS,
    resources=(SPU_MODEL, NER_LABELS),
    hyperparameters=_SPU_CONTEXT_HP,
)

CHARNER = ModelSpec(
    name="charner",
    vnlp_class="CharNER",
    task="ner",
    component=CharNer(),
    module="named_entity_recognizer.charner",
    builder_module="named_entity_recognizer._charner_utils",
    builder="create_charner_model",
    builder_args=(
        "CHAR_VOCAB_SIZE",
        "EMBED_SIZE",
        "SEQ_LEN_MAX",
        "NUM_RNN_STACKS",
        "RNN_DIM",
        "MLP_DIM",
        "NUM_CLASSES",
        "DROPOUT",
    ),
    weights_file="NER_CharNER_prod.weights",
    inputs=("chars",),
    output_activation="softmax",
    output_groups=(OutputGroup("ner", 0, 5, reserved_zero=True),),
    label_tokenizer=NER_LABELS,
    resources=(CHARNER_CHARS, NER_LABELS),
    hyperparameters=("CHAR_VOCAB_SIZE", "SEQ_LEN_MAX", "PADDING_STRAT"),
)

SPUCONTEXT_DP = ModelSpec(
    name="spucontext_dp",
    vnlp_class="SPUContextDP",
    task="dep",
    component=SpuContextParser(),
    module="dependency_parser.spu_context_dp",
    builder_module="dependency_parser._spu_context_utils",
    builder="create_spucontext_dp_model",
    builder_args=tuple("ARC_LABEL_VECTOR_LEN" if a == "LABEL_VOCAB_SIZE" else a for a in _SPU_CONTEXT_ARGS),
    weights_file="DP_SPUContext_prod.weights",
    embedding=Embedding(SPU_MATRIX, index=0),
    inputs=_SPU_CONTEXT_INPUTS,
    output_activation="sigmoid",
    output_groups=_DP_GROUPS,
    label_tokenizer=DP_LABELS,
    resources=(SPU_MODEL, DP_LABELS),
    hyperparameters=(*_SPU_CONTEXT_HP, "ARC_LABEL_VECTOR_LEN"),
)

TREESTACK_DP = ModelSpec(
    name="treestack_dp",
    vnlp_class="TreeStackDP",
    task="dep",
    component=TreeStackParser(),
    module="dependency_parser.treestack_dp",
    builder_module="dependency_parser._treestack_utils",
    builder="create_dependency_parser_model",
    builder_args=(
        "WORD_EMBEDDING_VOCAB_SIZE",
        "WORD_EMBEDDING_VECTOR_SIZE",
        "WORD_EMBEDDING_MATRIX",
        "POS_VOCAB_SIZE",
        "POS_EMBEDDING_VECTOR_SIZE",
        "SENTENCE_MAX_LEN",
        "TAG_MAX_LEN",
        "ARC_LABEL_VECTOR_LEN",
        "NUM_RNN_STACKS",
        "TAG_NUM_RNN_UNITS",
        "LC_NUM_RNN_UNITS",
        "LC_ARC_LABEL_NUM_RNN_UNITS",
        "RC_NUM_RNN_UNITS",
        "DROPOUT",
        "TAG_EMBEDDING_MATRIX",
        "FC_UNITS_MULTIPLIERS",
    ),
    weights_file="DP_TreeStack_prod.weights",
    embedding=Embedding(TB_MATRIX, index=1),
    inputs=(
        "word",
        "tags",
        "pos",
        "left_words",
        "left_tags",
        "left_pos",
        "left_arc_label",
        "right_words",
        "right_tags",
        "right_pos",
    ),
    output_activation="sigmoid",
    output_groups=_DP_GROUPS,
    label_tokenizer=DP_LABELS,
    resources=(TB_WORDS, STEMMER_TAGS, POS_LABELS, DP_LABELS),
    needs=("stemmer", "treestack_pos"),
    hyperparameters=("SENTENCE_MAX_LEN", "TAG_MAX_LEN", "WORD_FORM", "ARC_LABEL_VECTOR_LEN"),
)

SENTIMENT = ModelSpec(
    name="sentiment",
    vnlp_class="SPUCBiGRUSentimentAnalyzer",
    task="sentiment",
    component=Sentiment(),
    module="sentiment_analyzer.spu_context_bigru_sentiment",
    builder_module="sentiment_analyzer._spu_context_bigru_utils",
    builder="create_spucbigru_sentiment_model",
    builder_args=(
        "TEXT_MAX_LEN",
        "WORD_EMBEDDING_VOCAB_SIZE",
        "WORD_EMBEDDING_VECTOR_SIZE",
        "WORD_EMBEDDING_MATRIX",
        "NUM_RNN_UNITS",
        "NUM_RNN_STACKS",
        "DROPOUT",
    ),
    weights_file="Sentiment_SPUCBiGRU_prod.weights",
    embedding=Embedding(SPU_MATRIX, index=0),
    inputs=("pieces",),
    output_activation="sigmoid",
    output_groups=(OutputGroup("positive", 0, 1, reserved_zero=False),),
    label_tokenizer=None,
    resources=(SPU_MODEL,),
    hyperparameters=("TEXT_MAX_LEN", "NUM_RNN_UNITS", "NUM_RNN_STACKS"),
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        STEMMER,
        SPUCONTEXT_POS,
        TREESTACK_POS,
        SPUCONTEXT_NER,
        CHARNER,
        SPUCONTEXT_DP,
        TREESTACK_DP,
        SENTIMENT,
    )
}

TASK_DEFAULTS: dict[str, str] = {
    "morph": "stemmer",
    "pos": "spucontext_pos",
    "ner": "spucontext_ner",
    "dep": "spucontext_dp",
    "sentiment": "sentiment",
}


def get_model(name: str) -> ModelSpec:
    """The declaration called `name`, or a ValueError listing the known names."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
