"""Typed configuration: dataclasses registered with Hydra, validated before any work starts."""

from vnlp_batch.config.schema import (
    AppConfig,
    ConfigError,
    DataConfig,
    ExportConfig,
    ModelConfig,
    RuntimeConfig,
    TaskConfig,
    WeightsConfig,
    register_configs,
)

__all__ = [
    "AppConfig",
    "ConfigError",
    "DataConfig",
    "ExportConfig",
    "ModelConfig",
    "RuntimeConfig",
    "TaskConfig",
    "WeightsConfig",
    "register_configs",
]
