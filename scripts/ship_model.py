"""Copy a trained run's best checkpoint into the package as a shipped model (`make model`).

    python scripts/ship_model.py RUN_DIR FAMILY --data DATASET

Writes ``src/cadence/assets/models/FAMILY/`` with the weights, config and tokenizer, the
training log (``training_log.csv``), the run's result (``result.json``, held-out test NLL
included) and a fixed slice of validation tokens (``valid_slice.npy``) with the NLL the model
scores on it (``extra.valid_slice_nll`` in config.json), which a test recomputes.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import numpy as np

from cadence.models import Model
from cadence.models.shipped import SHIPPED
from cadence.tokens.dataset import TokenDataset
from cadence.training.evaluate import evaluate_nll, limit_tokens

SLICE_TOKENS = 20_000
MAX_MB = 25.0


def _result(run: Path, model, data: TokenDataset) -> dict:
    """The run's result.json; for a run stopped with Ctrl-C (no result.json), the same figures
    measured here: best valid NLL from metrics.csv, test NLL per token and per note."""
    path = run / "result.json"
    if path.exists():
        return json.loads(path.read_text())
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    valid = [float(r["valid_nll"]) for r in rows if r["valid_nll"]]
    test = data.split("test")
    nll = evaluate_nll(model, test)
    predicted = sum(len(seq) - 1 for seq in test)
    pitches = np.asarray(data.tokenizer.ids_of_type("Pitch"))
    notes = sum(int(np.isin(seq[1:], pitches).sum()) for seq in test)
    model.extra["test_nll_per_note"] = nll * predicted / notes
    return {
        "best_valid_nll": min(valid) if valid else None,
        "test_nll": nll,
        "stop_reason": "interrupted",
        "steps": int(rows[-1]["step"]) if rows else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("family", choices=sorted(SHIPPED))
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()

    model = Model.from_pretrained(args.run / "best").eval()
    data = TokenDataset(args.data)
    if data.tokenizer != model.tokenizer:
        raise SystemExit("the dataset's tokenizer differs from the model's")
    pieces = limit_tokens(data.split("valid"), SLICE_TOKENS)
    slice_nll = evaluate_nll(model, pieces)
    result = _result(args.run, model, data)
    dest = SHIPPED[args.family]
    extra = {
        "valid_slice_nll": slice_nll,
        "valid_slice_pieces": len(pieces),
        "best_valid_nll": result["best_valid_nll"],
        "test_nll": result["test_nll"],
        "test_nll_per_note": model.extra.get("test_nll_per_note"),
        "dataset_pieces": len(data),
    }
    model.save_pretrained(dest, extra=extra)
    np.savez_compressed(
        dest / "valid_slice.npz", *[np.asarray(p, dtype=np.uint16) for p in pieces]
    )
    shutil.copy(args.run / "metrics.csv", dest / "training_log.csv")
    (dest / "result.json").write_text(json.dumps(result, indent=1))
    size_mb = sum(f.stat().st_size for f in dest.iterdir()) / 1e6
    if size_mb > MAX_MB:
        raise SystemExit(f"{dest} is {size_mb:.1f} MB, over the {MAX_MB} MB limit")
    print(f"shipped {args.family}: {dest} ({size_mb:.1f} MB), valid slice NLL {slice_nll:.4f}, "
          f"test NLL {result['test_nll']:.4f} per token, "
          f"{extra['test_nll_per_note'] or float('nan'):.4f} per note")


if __name__ == "__main__":
    main()
