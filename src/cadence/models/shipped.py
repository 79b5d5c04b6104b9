"""Where the shipped models live: inside the package, trained by `make model`.

``CADENCE_MODEL`` (a checkpoint folder) overrides the default for every command.
"""

from __future__ import annotations

import os
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "models"
SHIPPED = {"lstm": ASSETS / "lstm", "transformer": ASSETS / "transformer"}
# The default is the family that scores better on the musicality benchmark at equal adherence
# (docs/musicality.md): the Transformer since token format 2.
DEFAULT_FAMILY = "transformer"


def default_model_dir() -> Path:
    """The checkpoint used when no ``--model`` is given."""
    env = os.environ.get("CADENCE_MODEL")
    return Path(env) if env else SHIPPED[DEFAULT_FAMILY]


def resolve_model_dir(name_or_path: str | Path | None) -> Path:
    """``None`` → the default; a shipped family name ("lstm", "transformer") → its folder;
    anything else is a path."""
    if name_or_path is None:
        return default_model_dir()
    if str(name_or_path) in SHIPPED:
        return SHIPPED[str(name_or_path)]
    return Path(name_or_path)
