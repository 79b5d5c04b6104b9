"""Adapt a trained model to one patient's favourite tunes with a small low-rank adapter.

The adapter is a LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models",
arXiv:2106.09685) on the model's output layer: the frozen weight W [V, H] becomes
``W + (alpha / r) · B @ A`` with A [r, H] and B [V, r], plus a bias shift b [V]. Only these
``r·(H + V) + V`` numbers are trained, so a handful of tunes cannot overwrite what the model
learned from its corpus, and the adapter is small enough to keep per patient.

Because everything below the output layer is frozen, the hidden states of the tunes are
computed once; each training step then costs one small matrix product, so fine-tuning on a few
tunes takes seconds on a CPU. The merged weights are an ordinary checkpoint
(:func:`apply_adapter`), so generation needs nothing new.

Supported: the LSTM family, whose output layer (``head``) is its own matrix. The Transformer
ties its output layer to its input embedding, so a merged output adapter would change its input
too; it is refused with a clear error.

Pure: scores or token arrays and a model in, an :class:`Adapter` out; a seed, a step and a
time budget, and a progress callback.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import symusic
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cadence.errors import CadenceError
from cadence.models.base import WEIGHTS, CadenceModel
from cadence.models.checkpoint import Model
from cadence.tokens.normalize import normalize
from cadence.tokens.tokenizer import CadenceTokenizer

ADAPTER_FORMAT = "cadence-adapter/1"
ADAPTER_WEIGHTS = "adapter.safetensors"
ADAPTER_CONFIG = "adapter.json"
# Defaults (engineering choices, checked in tests/training/test_finetune.py): rank 8 is
# LoRA's usual small rank (Hu et al. 2021 report rank 1-8 suffices); AdamW at 3e-3 with
# weight decay converges within a few hundred full-batch steps on a handful of tunes.
RANK = 8
STEPS = 300
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 0.01
MAX_SECONDS = 30.0
# Anchor: KL to the base model on ordinary music (the checkpoint's validation slice), at
# most ANCHOR_POSITIONS positions drawn from all of it. Weight 5 is an engineering choice
# measured in docs/personalization.md (shipped LSTM, 4 favourite tunes, the other half of the
# validation slice held out): Nottingham tunes 0.80 -> 0.59 nats/token with held-out music
# 0.802 -> 0.759; trecento songs 2.00 -> 1.18 with held-out music 0.802 -> 0.818. At weight 1
# the held-out music drifted to 0.891 on the trecento songs; anchoring on only the first
# three validation pieces let it drift by a third.
ANCHOR_WEIGHT = 5.0
ANCHOR_POSITIONS = 4096
ANCHOR_FILE = "valid_slice.npz"
# Early stopping (engineering choice): the last 15% of each tune's positions are held out,
# scored every EVAL_EVERY steps; training stops PATIENCE steps after the best score and the
# adapter that best predicts those unseen parts of the tunes is kept.
HELD_OUT_SHARE = 0.15
MIN_HELD_OUT_TUNE = 40
EVAL_EVERY = 10
PATIENCE = 50
# A tune longer than this many tokens is cut (a whole folk tune is ~500-3,000 tokens).
MAX_TOKENS = 8192

Progress = Callable[[int, int, float], None]  # (step, total steps, training loss)


@dataclass
class Adapter:
    """A trained LoRA on the output layer: tensors ``lora_a`` [r, H], ``lora_b`` [V, r],
    ``bias`` [V], and its ``meta`` (rank, alpha, family, base weights' hash, figures)."""

    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def scale(self) -> float:
        return float(self.meta["alpha"]) / float(self.meta["rank"])

    def delta(self) -> torch.Tensor:
        """The weight change [V, H] the adapter adds to the output layer."""
        return self.scale * self.tensors["lora_b"] @ self.tensors["lora_a"]

    def save(self, directory: str | Path) -> Path:
        """Write ``adapter.safetensors`` and ``adapter.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.tensors.items()}
        save_file(tensors, str(directory / ADAPTER_WEIGHTS), metadata={"format": ADAPTER_FORMAT})
        (directory / ADAPTER_CONFIG).write_text(json.dumps(self.meta, indent=1))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Adapter:
        """Read an adapter folder; a missing or damaged one raises CadenceError."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / ADAPTER_CONFIG).read_text())
            tensors = load_file(str(directory / ADAPTER_WEIGHTS))
        except FileNotFoundError:
            raise CadenceError(
                f"{directory} is not an adapter folder (adapter files missing)"
            ) from None
        except (OSError, json.JSONDecodeError, SafetensorError) as err:
            raise CadenceError(f"adapter {directory} is unreadable: {err}") from None
        if not isinstance(meta, dict) or meta.get("format") != ADAPTER_FORMAT:
            raise CadenceError(f"{directory / ADAPTER_CONFIG}: not a {ADAPTER_FORMAT} adapter")
        if set(tensors) != {"lora_a", "lora_b", "bias"}:
            raise CadenceError(f"{directory / ADAPTER_WEIGHTS}: unexpected tensors")
        return cls(tensors, meta)


def anchor_tokens(model_dir: str | Path) -> list[np.ndarray]:
    """The checkpoint's fixed validation slice (``valid_slice.npz``, written by `make model`)
    as anchor sequences; empty when the checkpoint has none."""
    path = Path(model_dir) / ANCHOR_FILE
    if not path.is_file():
        return []
    try:
        with np.load(path) as data:
            return [np.asarray(data[k], dtype=np.int64) for k in data.files]
    except (OSError, ValueError) as err:
        raise CadenceError(f"{path} is unreadable: {err}") from None


def weights_hash(model_dir: str | Path) -> str:
    """SHA-256 of a checkpoint's weights file: ties an adapter to its base model."""
    digest = hashlib.sha256()
    with (Path(model_dir) / WEIGHTS).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encode_tunes(tokenizer: CadenceTokenizer, scores: Sequence[symusic.Score]) -> list[np.ndarray]:
    """Token ids of whole tunes as the model learned music: roles and transposition normalised
    (as in training and in primers), control tokens inserted, BOS ... EOS."""
    out = []
    for score in scores:
        norm = normalize(score).score
        ids = tokenizer.encode_piece(norm)
        if len(ids) > 2:
            out.append(np.asarray(ids[:MAX_TOKENS], dtype=np.int64))
    return out


def _head(model: CadenceModel) -> torch.nn.Linear:
    head = getattr(model, "head", None)
    if model.family != "lstm" or not isinstance(head, torch.nn.Linear):
        raise CadenceError(
            f"fine-tuning adapts the output layer of LSTM models; this is a {model.family!r} "
            "model (the Transformer ties its output layer to its input embedding); use "
            "--model lstm or an LSTM checkpoint"
        )
    return head


@torch.no_grad()
def _features(
    model: CadenceModel, tunes: Sequence[np.ndarray]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
    """(hidden [N, H], base logits [N, V], targets [N], positions per tune) over every
    next-token position."""
    head = _head(model)
    captured: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, inp, _out: captured.append(inp[0].detach()))
    hidden, logits, targets = [], [], []
    was_training = model.training
    model.eval()
    try:
        for ids in tunes:
            x = torch.as_tensor(ids[:-1], dtype=torch.long, device=model.device)[None]
            out, _ = model.forward_state(x, None)  # [1, T, V]
            hidden.append(captured.pop()[0])  # [T, H]
            logits.append(out[0])
            targets.append(torch.as_tensor(ids[1:], dtype=torch.long, device=model.device))
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(hidden), torch.cat(logits), torch.cat(targets), [len(t) for t in targets]


def _held_out(lengths: Sequence[int]) -> torch.Tensor:
    """A mask over all positions: the last :data:`HELD_OUT_SHARE` of each tune's positions,
    for early stopping (tunes shorter than :data:`MIN_HELD_OUT_TUNE` positions are all fit)."""
    parts = []
    for n in lengths:
        mask = torch.zeros(n, dtype=torch.bool)
        if n >= MIN_HELD_OUT_TUNE:
            mask[n - max(1, int(n * HELD_OUT_SHARE)) :] = True
        parts.append(mask)
    return torch.cat(parts)


def _check_tokens(model: CadenceModel, tunes: Sequence[np.ndarray]) -> None:
    vocab = model.config.vocab_size  # type: ignore[attr-defined]
    if not tunes:
        raise CadenceError("fine-tuning needs at least one tune with notes")
    for ids in tunes:
        if len(ids) < 2 or int(np.max(ids)) >= vocab or int(np.min(ids)) < 0:
            raise CadenceError(
                f"a tune's token ids do not fit this model's vocabulary of {vocab}; encode "
                "tunes with the model's own tokenizer"
            )


def nll(model: CadenceModel, tunes: Sequence[np.ndarray]) -> float:
    """Mean negative log-likelihood per predicted token (nats) of ``tunes`` under ``model``,
    each tune scored from a fresh state."""
    _check_tokens(model, tunes)
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for ids in tunes:
                x = torch.as_tensor(ids, dtype=torch.long, device=model.device)[None]
                logits, _ = model.forward_state(x[:, :-1], None)
                loss = F.cross_entropy(logits[0], x[0, 1:], reduction="sum")
                total += float(loss)
                count += len(ids) - 1
    finally:
        model.train(was_training)
    return total / count


def finetune(
    model: CadenceModel,
    tunes: Sequence[np.ndarray],
    *,
    rank: int = RANK,
    alpha: float | None = None,
    steps: int = STEPS,
    lr: float = LEARNING_RATE,
    weight_decay: float = WEIGHT_DECAY,
    max_seconds: float = MAX_SECONDS,
    seed: int = 0,
    anchor: Sequence[np.ndarray] | None = None,
    anchor_weight: float = ANCHOR_WEIGHT,
    threads: int | None = 1,
    on_progress: Progress | None = None,
) -> Adapter:
    """Train a LoRA on ``model``'s output layer to predict ``tunes`` (token arrays from
    :func:`encode_tunes`); ``model`` itself is not changed.

    Stops after ``steps`` full-batch AdamW steps or ``max_seconds``, whichever comes first.
    ``anchor`` (token arrays of ordinary music, e.g. the checkpoint's ``valid_slice.npz``) adds
    ``anchor_weight`` x the mean KL divergence from the base model's predictions on them, so
    the adapter learns the tunes without forgetting the rest of music (at most
    :data:`ANCHOR_POSITIONS` positions are used). ``threads``: torch CPU threads while
    training (None: leave as is); one thread avoids OpenMP hand-offs, which on a shared
    2-core machine made the small matrix products ~20x slower.
    ``meta`` records the tunes' NLL (nats/token) before and after, steps, seconds and seed.
    """
    if rank < 1 or steps < 1 or lr <= 0 or max_seconds <= 0:
        raise CadenceError(
            f"finetune: rank ({rank}) and steps ({steps}) must be >= 1, lr ({lr}) and "
            f"max_seconds ({max_seconds}) > 0"
        )
    _check_tokens(model, tunes)
    _head(model)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train(
            model, tunes, rank, alpha, steps, lr, weight_decay, max_seconds, seed, anchor,
            anchor_weight, on_progress,
        )  # fmt: skip
    finally:
        torch.set_num_threads(before)


def _train(
    model: CadenceModel,
    tunes: Sequence[np.ndarray],
    rank: int,
    alpha: float | None,
    steps: int,
    lr: float,
    weight_decay: float,
    max_seconds: float,
    seed: int,
    anchor: Sequence[np.ndarray] | None,
    anchor_weight: float,
    on_progress: Progress | None,
) -> Adapter:
    head = _head(model)
    t0 = time.perf_counter()
    hidden, base_logits, targets, lengths = _features(model, tunes)
    held = _held_out(lengths).to(hidden.device)
    fit = ~held if bool(held.any()) else torch.ones_like(held)
    n_hidden, vocab = hidden.shape[1], base_logits.shape[1]
    alpha = float(rank if alpha is None else alpha)
    scale = alpha / rank
    gen = torch.Generator().manual_seed(seed)
    # LoRA init (Hu et al. 2021): A random, B zero, so training starts from the base model.
    lora_a = (torch.randn(rank, n_hidden, generator=gen) / math.sqrt(n_hidden)).to(hidden.device)
    lora_b = torch.zeros(vocab, rank, device=hidden.device)
    bias = torch.zeros(vocab, device=hidden.device)
    params = [p.requires_grad_() for p in (lora_a, lora_b, bias)]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    anchor_hidden = anchor_logp = None
    if anchor:
        _check_tokens(model, anchor)
        a_hidden, a_logits, _, _ = _features(model, anchor)
        keep = torch.randperm(len(a_hidden), generator=gen)[:ANCHOR_POSITIONS]
        anchor_hidden = a_hidden[keep]
        anchor_logp = F.log_softmax(a_logits[keep], dim=-1)

    def logits_of(rows: torch.Tensor | slice) -> torch.Tensor:
        return base_logits[rows] + scale * (hidden[rows] @ lora_a.T) @ lora_b.T + bias

    def held_nll() -> float:
        with torch.no_grad():
            return float(F.cross_entropy(logits_of(held), targets[held]))

    loss_before = float(F.cross_entropy(base_logits, targets))
    has_held = bool(held.any())
    best_held = held_nll() if has_held else math.inf
    best = {k: v.detach().clone() for k, v in (("a", lora_a), ("b", lora_b), ("c", bias))}
    best_step = done = 0
    loss_value = loss_before
    for step in range(1, steps + 1):
        loss = F.cross_entropy(logits_of(fit), targets[fit])
        if anchor_hidden is not None and anchor_logp is not None:
            a_logits = anchor_logp + scale * (anchor_hidden @ lora_a.T) @ lora_b.T + bias
            kl = F.kl_div(
                F.log_softmax(a_logits, dim=-1), anchor_logp, log_target=True, reduction="batchmean"
            )
            loss = loss + anchor_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_value, done = float(loss.detach()), step
        if on_progress is not None:
            on_progress(step, steps, loss_value)
        out_of_time = time.perf_counter() - t0 > max_seconds
        if not has_held or step % EVAL_EVERY == 0 or step == steps or out_of_time:
            score = held_nll() if has_held else -float(step)  # no held-out part: keep the last
            if score < best_held:
                best_held, best_step = score, step
                best = {"a": lora_a.detach().clone(), "b": lora_b.detach().clone(),
                        "c": bias.detach().clone()}  # fmt: skip
            elif has_held and step - best_step >= PATIENCE:
                break
        if out_of_time:
            break
    with torch.no_grad():
        lora_a.copy_(best["a"])
        lora_b.copy_(best["b"])
        bias.copy_(best["c"])
        loss_after = float(F.cross_entropy(logits_of(slice(None)), targets))
    meta = {
        "format": ADAPTER_FORMAT,
        "family": model.family,
        "target": "head",
        "rank": rank,
        "alpha": alpha,
        "hidden_size": n_hidden,
        "vocab_size": vocab,
        "head_has_bias": head.bias is not None,
        "steps": done,
        "seconds": round(time.perf_counter() - t0, 3),
        "seed": seed,
        "lr": lr,
        "weight_decay": weight_decay,
        "tunes": len(tunes),
        "tokens": int(targets.numel()),
        "anchor_positions": 0 if anchor_hidden is None else len(anchor_hidden),
        "anchor_weight": anchor_weight if anchor_hidden is not None else 0.0,
        "nll_before": loss_before,
        "nll_after": loss_after,
        "held_out_positions": int(held.sum()),
        "held_out_nll_after": best_held if has_held else None,
        "best_step": best_step,
        "last_loss": loss_value,
    }
    tensors = {"lora_a": lora_a.detach(), "lora_b": lora_b.detach(), "bias": bias.detach()}
    return Adapter({k: v.cpu() for k, v in tensors.items()}, meta)


def apply_adapter(
    model: CadenceModel, adapter: Adapter, *, base_sha256: str | None = None
) -> CadenceModel:
    """Merge ``adapter`` into ``model``'s output layer in place and return the model.

    A CadenceError if the adapter was made for another family or other sizes, or, when
    ``base_sha256`` (:func:`weights_hash` of the model's folder) is given, for other weights.
    """
    head = _head(model)
    meta = adapter.meta
    vocab, n_hidden = head.weight.shape
    made_for = (meta.get("family"), meta.get("vocab_size"), meta.get("hidden_size"))
    if made_for != (model.family, vocab, n_hidden) or head.bias is None:
        raise CadenceError(
            f"this adapter was made for a {made_for[0]} model with vocabulary {made_for[1]} "
            f"and hidden size {made_for[2]}, not this {model.family} model ({vocab}, "
            f"{n_hidden}); run `cadence finetune` again for this model"
        )
    if base_sha256 and meta.get("base_sha256") and base_sha256 != meta["base_sha256"]:
        raise CadenceError(
            "this adapter was fine-tuned from other base weights; run `cadence finetune` again"
        )
    with torch.no_grad():
        head.weight.add_(adapter.delta().to(head.weight))
        head.bias.add_(adapter.tensors["bias"].to(head.bias))
    return model


def adapted_checkpoint(model_dir: str | Path, adapter_dir: str | Path, out: str | Path) -> Path:
    """Write ``model_dir`` with the adapter in ``adapter_dir`` merged, as a checkpoint folder
    ``out`` that loads like any other (``Model.from_pretrained``)."""
    adapter = Adapter.load(adapter_dir)
    model = Model.from_pretrained(model_dir)
    apply_adapter(model, adapter, base_sha256=weights_hash(model_dir))
    extra = {"adapter": {k: adapter.meta.get(k) for k in ("steps", "nll_before", "nll_after")}}
    return model.save_pretrained(out, extra=extra)
