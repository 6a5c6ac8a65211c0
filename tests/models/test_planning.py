"""Planning: the models a run needs (upstream first) and the model that answers each task."""

from __future__ import annotations

from vnlp_batch.models.declarations import TASK_DEFAULTS
from vnlp_batch.models.planning import Plan, models_for, plan_for, upstream_first


def test_models_for_pulls_in_upstream_models_first() -> None:
    assert [s.name for s in models_for("dep", "treestack_dp")] == ["stemmer", "treestack_pos", "treestack_dp"]
    assert [s.name for s in models_for("pos", "treestack_pos")] == ["stemmer", "treestack_pos"]
    assert [s.name for s in models_for("all", "auto")] == list(TASK_DEFAULTS.values())
    assert [s.name for s in models_for("all", "charner")] == [
        "stemmer",
        "spucontext_pos",
        "charner",
        "spucontext_dp",
        "sentiment",
    ]


def test_plan_answers_each_task_with_its_default_or_the_chosen_model() -> None:
    assert plan_for("all", "auto") == Plan(**TASK_DEFAULTS)
    assert plan_for("pos", "treestack_pos") == Plan(pos="treestack_pos")
    assert plan_for("dep", "treestack_dp") == Plan(dep="treestack_dp")
    # task=all with TreeStackDP: its TreeStackPoS answers pos too (it runs anyway)
    assert plan_for("all", "treestack_dp") == Plan(
        morph="stemmer", pos="treestack_pos", ner="spucontext_ner", dep="treestack_dp", sentiment="sentiment"
    )
    assert plan_for("all", "charner").tasks == ["morph", "pos", "ner", "dep", "sentiment"]


def test_upstream_first_keeps_the_given_order_otherwise() -> None:
    assert upstream_first(["charner", "treestack_dp", "stemmer"]) == [
        "charner",
        "stemmer",
        "treestack_pos",
        "treestack_dp",
    ]
