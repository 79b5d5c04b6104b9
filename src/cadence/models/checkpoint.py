"""Building models from configs, and loading checkpoint folders (``Model.from_pretrained``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from cadence.errors import CadenceError
from cadence.models.base import CHECKPOINT_FORMAT, CONFIG, TOKENIZER, WEIGHTS, CadenceModel
from cadence.models.config import Config, config_error
from cadence.models.lstm import LSTMConfig, LSTMModel
from cadence.models.transformer import TransformerConfig, TransformerModel
from cadence.tokens.tokenizer import CadenceTokenizer

FAMILIES: dict[str, type[CadenceModel]] = {
    LSTMModel.family: LSTMModel,
    TransformerModel.family: TransformerModel,
}

ModelConfig = LSTMConfig | TransformerConfig


def model_config_from_dict(data: dict[str, Any]) -> Config:
    """A model config from a ``[model]`` table: ``family`` (default "lstm") plus its sizes."""
    if not isinstance(data, dict):
        raise config_error("model", "", data, "expected a table of settings")
    data = dict(data)
    family = data.pop("family", "lstm")
    if family not in FAMILIES:
        raise config_error("model", "family", family, f"expected one of {sorted(FAMILIES)}")
    return FAMILIES[family].config_class.from_dict(data)


def family_of(config: Config) -> str:
    for name, cls in FAMILIES.items():
        if isinstance(config, cls.config_class):
            return name
    raise TypeError(f"not a model config: {type(config).__name__}")


def build_model(config: Config, tokenizer: CadenceTokenizer | None = None) -> CadenceModel:
    """A freshly initialised model; ``vocab_size`` 0 is filled in from ``tokenizer``."""
    if tokenizer is not None:
        if getattr(config, "vocab_size", 0) == 0:
            config = config.replace(vocab_size=tokenizer.vocab_size)
        elif config.vocab_size != tokenizer.vocab_size:  # type: ignore[attr-defined]
            raise CadenceError(
                f"model.vocab_size is {config.vocab_size} but the tokenizer has "  # type: ignore[attr-defined]
                f"{tokenizer.vocab_size} tokens; remove vocab_size from the config"
            )
    model = FAMILIES[family_of(config)](config)
    model.tokenizer = tokenizer
    return model


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CadenceError(
            f"{path.parent} is not a Cadence model checkpoint: {path.name} is missing"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CadenceError(f"checkpoint {what} {path} is unreadable: {err}") from None
    if not isinstance(data, dict):
        raise CadenceError(f"checkpoint {what} {path} is not a JSON object")
    return data


class Model:
    """Entry point for loading any family: ``Model.from_pretrained(path)``."""

    @staticmethod
    def from_pretrained(
        directory: str | Path, *, device: str | torch.device | None = None
    ) -> CadenceModel:
        """Load a checkpoint folder written by ``save_pretrained``, in eval mode.

        The model carries ``.tokenizer``, ``.config`` and ``.extra`` (training metadata).
        A missing or damaged folder raises :class:`CadenceError`.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise CadenceError(
                f"model checkpoint {directory} does not exist; train one with `cadence train` "
                "or pass the folder that holds model.safetensors"
            )
        meta = _read_json(directory / CONFIG, "config")
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise CadenceError(
                f"{directory / CONFIG}: format {meta.get('format')!r} is not {CHECKPOINT_FORMAT!r}"
            )
        try:
            config = model_config_from_dict({"family": meta.get("family"), **meta["model"]})
        except (KeyError, TypeError) as err:
            raise CadenceError(f"{directory / CONFIG}: bad model section ({err})") from None
        except CadenceError as err:
            raise CadenceError(f"{directory / CONFIG}: {err}") from None
        try:
            tokenizer = CadenceTokenizer.from_dict(_read_json(directory / TOKENIZER, "tokenizer"))
        except (ValueError, KeyError, TypeError) as err:
            raise CadenceError(
                f"{directory / TOKENIZER} is not a usable tokenizer: {err}"
            ) from None
        weights = directory / WEIGHTS
        if not weights.exists():
            raise CadenceError(f"{directory} is not a complete checkpoint: {WEIGHTS} is missing")
        try:
            tensors = load_file(str(weights))
        except (SafetensorError, OSError) as err:
            raise CadenceError(f"{weights} is corrupt or unreadable: {err}") from None
        model = build_model(config, tokenizer)
        try:
            model.load_state_dict(tensors, strict=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0:2]
            raise CadenceError(
                f"{weights} does not match its config.json: {' '.join(first)}"
            ) from None
        model.extra = dict(meta.get("extra") or {})
        if device is not None:
            model.to(device)
        return model.eval()
