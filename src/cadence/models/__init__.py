"""cadence.models: model families behind one interface, and self-describing checkpoints.

>>> from cadence.models import Model
>>> model = Model.from_pretrained("out/model/best")   # doctest: +SKIP
>>> logits, state = model.step(torch.tensor([model.tokenizer.bos_id]), model.init_state(1))
"""

from __future__ import annotations

from cadence.models.base import CadenceModel
from cadence.models.checkpoint import FAMILIES, Model, build_model, model_config_from_dict
from cadence.models.config import Config
from cadence.models.lstm import LSTMConfig, LSTMModel
from cadence.models.transformer import KVCache, TransformerConfig, TransformerModel

__all__ = [
    "FAMILIES",
    "CadenceModel",
    "Config",
    "KVCache",
    "LSTMConfig",
    "LSTMModel",
    "Model",
    "TransformerConfig",
    "TransformerModel",
    "build_model",
    "model_config_from_dict",
]
