"""Every declaration names its family's component, and the component's facts hold for its exports."""

from __future__ import annotations

from vnlp_batch.components.base import Component
from vnlp_batch.export.metadata import known_roles
from vnlp_batch.models.declarations import MODELS


def test_every_declaration_has_a_component_of_its_family() -> None:
    families = {}
    for spec in MODELS.values():
        assert isinstance(spec.component, Component), spec.name
        families.setdefault(type(spec.component).__name__, []).append(spec.name)
    assert families == {
        "Stemmer": ["stemmer"],
        "SpuContextTagger": ["spucontext_pos", "spucontext_ner"],
        "TreeStackTagger": ["treestack_pos"],
        "CharNer": ["charner"],
        "SpuContextParser": ["spucontext_dp"],
        "TreeStackParser": ["treestack_dp"],
        "Sentiment": ["sentiment"],
    }


def test_exported_graphs_are_the_roles_their_component_names(exports) -> None:
    for name, exported in exports.models.items():
        component = MODELS[name].component
        assert set(exported.graphs) <= {"monolithic", *component.graph_roles}, name
        assert (len(exported.graphs) > 1) == (component.fast_decoder is not None), name
        assert set(exported.graphs) <= set(known_roles())
