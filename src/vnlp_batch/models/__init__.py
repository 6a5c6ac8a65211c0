"""VNLP's eight models, each declared once; everything else reads the declarations."""

from vnlp_batch.models.declarations import MODELS, TASK_DEFAULTS, get_model
from vnlp_batch.models.spec import ModelSpec, OutputGroup

__all__ = ["MODELS", "TASK_DEFAULTS", "ModelSpec", "OutputGroup", "get_model"]
