"""The trainer: batched next-token training, one process or torchrun DDP, resumable.

Output folder::

    best/          checkpoint with the lowest validation NLL (save_pretrained format)
    last/          the latest checkpoint, plus trainer_state.pt to resume from
    metrics.csv    epoch, step, train_loss, valid_nll, lr, tokens_per_s, elapsed_s
    result.json    the TrainResult
    tb/            TensorBoard scalars, when tensorboard is installed
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from cadence import __version__
from cadence.errors import CadenceError
from cadence.models.base import CadenceModel
from cadence.models.checkpoint import Model, build_model
from cadence.tokens.dataset import TokenDataset
from cadence.training import distributed
from cadence.training.config import TrainConfig, load_config
from cadence.training.data import PackedWindows
from cadence.training.evaluate import limit_tokens, nll_sum
from cadence.training.logs import MetricsLog
from cadence.training.objective import Objective, detach_state
from cadence.training.outputs import Progress, StopReason, TrainResult
from cadence.training.state import (
    STATE_FILE,
    Position,
    StopFlag,
    check_resumable,
    load_state,
    make_optimizer,
    make_scheduler,
    rng_restore,
    rng_snapshot,
    save_state,
)

log = logging.getLogger(__name__)


class Trainer:
    """Holds one run; :func:`train` is the public entry."""

    def __init__(
        self,
        cfg: TrainConfig,
        data_dir: Path,
        out_dir: Path,
        dist: distributed.Dist,
        *,
        resume: bool,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.dist, self.out, self.on_progress = dist, out_dir, on_progress
        if cfg.threads and dist.device.type == "cpu":
            torch.set_num_threads(cfg.threads)
        self.data = TokenDataset(data_dir)
        self.data_dir = data_dir
        tok = self.data.tokenizer
        splits = {name: self.data.split(name) for name in ("train", "valid", "test")}
        for name in ("train", "valid"):
            if not splits[name]:
                raise CadenceError(f"dataset {data_dir} has no {name} pieces; ingest more music")
        self.valid = limit_tokens(splits["valid"], cfg.eval_max_tokens)
        self.test = splits["test"]  # always scored whole
        self.control_counts = self.data.control_counts("train")
        last_state = out_dir / "last" / STATE_FILE
        if not resume and last_state.exists():
            raise CadenceError(
                f"{out_dir} already holds a training run; resume it or choose another output folder"
            )
        torch.manual_seed(cfg.seed)
        if resume:
            saved = load_state(last_state)
            model = self._load(out_dir / "last", "the run being resumed")
            cfg = cfg.replace(model=model.config)
            check_resumable(saved["config"], cfg.to_dict())
        elif cfg.init_from:
            model = self._load(Path(cfg.init_from), "the model being fine-tuned")
            cfg = cfg.replace(model=model.config)
        else:
            model = build_model(cfg.model, tok)
            cfg = cfg.replace(model=model.config)
        self.cfg, self.model = cfg, model.to(dist.device).train()
        self.windows = PackedWindows(
            splits["train"],
            batch_size=cfg.batch_size,
            seq_len=cfg.seq_len,
            seed=cfg.seed,
            bos_id=tok.bos_id,
            eos_id=tok.eos_id,
            rank=dist.rank,
            world_size=dist.world_size,
        )
        self.per_epoch = min(self.windows.steps, cfg.steps_per_epoch or self.windows.steps)
        total = cfg.epochs * self.per_epoch
        self.total_steps = min(total, cfg.max_steps) if cfg.max_steps else total
        self.optimizer = make_optimizer(model, cfg, dist.device)
        self.scheduler = make_scheduler(self.optimizer, cfg, self.total_steps)
        self.carrying = model.recurrent and cfg.tbptt
        objective = Objective(model, self.carrying)
        self.objective: nn.Module = (
            DistributedDataParallel(
                objective, device_ids=[dist.device] if dist.device.type == "cuda" else None
            )
            if dist.active
            else objective
        )
        self.pos, self.carry = Position(), None
        torch.manual_seed(cfg.seed + 1 + dist.rank)  # dropout masks differ between ranks
        if resume:
            self._restore(saved)
        self.metrics = (
            MetricsLog(out_dir, resume_step=self.pos.step if resume else None)
            if dist.is_main
            else None
        )
        self.amp = (
            torch.autocast(device_type="cuda", dtype=torch.bfloat16)
            if cfg.bf16 and dist.device.type == "cuda"
            else contextlib.nullcontext()
        )

    # ---- setup helpers ------------------------------------------------------------------
    def _load(self, folder: Path, what: str) -> CadenceModel:
        model = Model.from_pretrained(folder)
        if model.tokenizer != self.data.tokenizer:
            raise CadenceError(
                f"the dataset {self.data_dir} was tokenized differently from {what} ({folder}); "
                "re-ingest the data with this version or train a new model"
            )
        return model

    def _restore(self, saved: dict[str, Any]) -> None:
        self.pos = Position(**saved["position"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        if saved["world_size"] == self.dist.world_size:
            mine = saved["ranks"][self.dist.rank]
            rng_restore(mine["rng"])
            if mine["carry"] is not None and self.carrying:
                self.carry = tuple(t.to(self.dist.device) for t in mine["carry"])
        else:
            log.warning(
                "resuming on %d processes a run saved on %d: random state and recurrent "
                "carry restart",
                self.dist.world_size,
                saved["world_size"],
            )
        log.info("resuming at epoch %d, step %d", self.pos.epoch + 1, self.pos.step)

    # ---- checkpoints -------------------------------------------------------------------
    def _extra(self, **more: Any) -> dict[str, Any]:
        return {
            "cadence_version": __version__,
            "train_config": self.cfg.to_dict(),
            "data": str(self.data_dir),
            "epochs_completed": self.pos.epoch,
            "step": self.pos.step,
            "best_valid_nll": self.pos.best_valid_nll,
            "num_parameters": self.model.num_parameters(),
            "control_counts": self.control_counts,
            **more,
        }

    def _save_last(self) -> None:
        """Collective: every rank sends its RNG and carry; rank 0 writes ``last/``."""
        carry = tuple(t.cpu() for t in self.carry) if self.carry is not None else None
        ranks = self.dist.all_gather({"rng": rng_snapshot(), "carry": carry})
        if self.dist.is_main:
            self.model.save_pretrained(
                self.out / "last",
                extra=self._extra(),
                before_swap=lambda tmp: save_state(
                    tmp / STATE_FILE,
                    position=self.pos,
                    optimizer=self.optimizer,
                    scheduler=self.scheduler,
                    config=self.cfg.to_dict(),
                    per_rank=ranks,
                ),
            )
        self.dist.barrier()

    # ---- evaluation --------------------------------------------------------------------
    def _nll(
        self, model: CadenceModel, sequences: list, *, per_note: bool = False
    ) -> float | None:
        """Mean NLL per predicted token, or with ``per_note`` per note (Pitch token): token
        formats differ in tokens per note, so only the second compares across formats."""
        mine = sequences[self.dist.rank :: self.dist.world_size]
        total, count = nll_sum(
            model,
            mine,
            batch_size=self.cfg.eval_batch_size,
            chunk_len=self.cfg.seq_len,
            device=self.dist.device,
            autocast=self.cfg.bf16,
        )
        if per_note:
            pitches = np.asarray(self.data.tokenizer.ids_of_type("Pitch"))
            count = sum(int(np.isin(seq[1:], pitches).sum()) for seq in mine)
        total, count = self.dist.all_reduce_sum([total, float(count)])
        return total / count if count else None

    def _validate(self, loss: float, epoch: int) -> None:
        """Score the valid split after (part of) ``epoch`` (from 1); keep the best."""
        nll = self._nll(self.model, self.valid)
        if nll is None:
            raise CadenceError(f"dataset {self.data_dir}: the valid pieces hold no tokens")
        improved = self.pos.best_valid_nll is None or nll < self.pos.best_valid_nll
        self.pos.bad_evals = 0 if improved else self.pos.bad_evals + 1
        self.pos.best_valid_nll = nll if improved else self.pos.best_valid_nll
        self.pos.history.append({"epoch": epoch, "step": self.pos.step, "valid_nll": nll})
        log.info(
            "epoch %d step %d: valid NLL %.4f%s",
            epoch,
            self.pos.step,
            nll,
            " (best)" if improved else "",
        )
        if improved and self.dist.is_main:
            self.model.save_pretrained(self.out / "best", extra=self._extra(valid_nll=nll))
        self._report("valid", loss, valid_nll=nll, epoch=epoch)

    # ---- the loop ----------------------------------------------------------------------
    def _elapsed(self) -> float:
        return self.pos.elapsed_s + time.monotonic() - self.t0

    def _report(
        self,
        event: Literal["step", "valid"],
        loss: float,
        valid_nll: float | None = None,
        epoch: int | None = None,
    ) -> None:
        if not self.dist.is_main:
            return
        lr = self.last_lr
        tps = self.tokens / self.train_time if self.train_time > 0 else 0.0
        row = {
            "epoch": epoch or self.pos.epoch + 1,
            "step": self.pos.step,
            "train_loss": loss,
            "lr": lr,
            "tokens_per_s": tps,
            "elapsed_s": self._elapsed(),
            "valid_nll": valid_nll,
        }
        if self.metrics is not None and (
            event == "valid" or self.pos.step % self.cfg.log_every == 0
        ):
            self.metrics.write(**row)
        if self.on_progress is not None:
            try:
                self.on_progress(
                    Progress(event, epochs=self.cfg.epochs, total_steps=self.total_steps, **row)
                )
            except KeyboardInterrupt:
                self.pending_interrupt = True

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        x, y = x.to(self.dist.device, non_blocking=True), y.to(self.dist.device, non_blocking=True)
        with self.amp:
            loss, state = self.objective(x, y, self.carry)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.last_lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.carry = detach_state(state) if self.carrying else None
        return float(loss.detach())

    def _train_until_eval(self, flag: StopFlag) -> StopReason | None:
        """Steps until the epoch ends, a validation is due, or training must stop."""
        cfg, pos = self.cfg, self.pos
        while pos.batch < self.per_epoch:
            t = time.monotonic()
            local = self._step(*self.windows.batch(pos.epoch, pos.batch))
            over = cfg.max_minutes > 0 and self._elapsed() >= cfg.max_minutes * 60
            # One collective per step: the mean loss, and any rank's reason to stop.
            signals = [local, float(flag.set or self.pending_interrupt), float(over)]
            summed = self.dist.all_reduce_sum(signals)
            self.loss = summed[0] / self.dist.world_size
            pos.batch, pos.step = pos.batch + 1, pos.step + 1
            self.train_time += time.monotonic() - t
            self.tokens += self.windows.tokens_per_step
            self._report("step", self.loss)
            if summed[1] or (self.pending_interrupt and not self.dist.active):
                return "interrupted"
            if cfg.max_steps and pos.step >= cfg.max_steps:
                return "max_steps"
            if summed[2]:
                return "time_budget"
            if cfg.eval_every and pos.step % cfg.eval_every == 0 and pos.batch < self.per_epoch:
                return None
        return None

    def run(self) -> TrainResult:
        cfg, pos = self.cfg, self.pos
        self.t0, self.tokens, self.train_time = time.monotonic(), 0, 0.0
        self.pending_interrupt = False
        self.last_lr = self.optimizer.param_groups[0]["lr"]
        self.loss = float("nan")
        stop: StopReason | None = None
        if pos.step >= self.total_steps:
            stop = "max_steps" if cfg.max_steps and pos.step >= cfg.max_steps else "completed"
        if cfg.patience and pos.bad_evals >= cfg.patience:
            stop = "early_stopping"
        flag = StopFlag()
        with flag.catching_sigint():
            while stop is None:
                if pos.batch == 0:
                    self.carry = None  # a new epoch reshuffles the streams
                stop = self._train_until_eval(flag)
                if stop == "interrupted":
                    break
                epoch = pos.epoch + 1
                if pos.batch >= self.per_epoch:
                    pos.epoch, pos.batch = pos.epoch + 1, 0
                self._validate(self.loss, epoch)
                if stop is None and pos.epoch >= cfg.epochs:
                    stop = "completed"
                if stop is None and cfg.patience and pos.bad_evals >= cfg.patience:
                    stop = "early_stopping"
                self._save_last_timed()
        if stop == "interrupted":
            self._save_last_timed()
            log.warning("interrupted at step %d; %s resumes it", pos.step, self.out / "last")
            raise KeyboardInterrupt
        return self._finish(stop)

    def _save_last_timed(self) -> None:
        self.pos.elapsed_s, self.t0 = self._elapsed(), time.monotonic()
        self._save_last()

    def _finish(self, stop: StopReason) -> TrainResult:
        best_dir = self.out / "best"
        self.dist.barrier()
        test_nll = None
        if self.test and best_dir.exists():
            best = Model.from_pretrained(best_dir, device=self.dist.device)
            test_nll = self._nll(best, self.test)
            test_nll_note = self._nll(best, self.test, per_note=True)
            if self.dist.is_main:
                best.save_pretrained(
                    best_dir, extra={"test_nll": test_nll, "test_nll_per_note": test_nll_note}
                )
        tps = self.tokens / self.train_time if self.train_time > 0 else 0.0
        result = TrainResult(
            best_valid_nll=self.pos.best_valid_nll,
            test_nll=test_nll,
            out_dir=self.out,
            best_dir=best_dir,
            last_dir=self.out / "last",
            metrics_path=self.out / "metrics.csv",
            steps=self.pos.step,
            epochs=self.pos.epoch,
            stop_reason=stop,
            elapsed_s=self._elapsed(),
            tokens_per_s=tps,
            num_parameters=self.model.num_parameters(),
        )
        if self.dist.is_main:
            (self.out / "result.json").write_text(json.dumps(result.to_dict(), indent=1))
        log.info(
            "training done (%s): best valid NLL %s, test NLL %s",
            stop,
            self.pos.best_valid_nll,
            test_nll,
        )
        self.dist.barrier()
        return result


def train(
    config: str | Path | dict | TrainConfig,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    init_from: str | Path | None = None,
) -> TrainResult:
    """Train a model on the dataset in ``data_dir``, writing checkpoints to ``out_dir``.

    ``config`` is a TrainConfig, a dict, a TOML path or a shipped config name ("tiny").
    ``resume`` continues from ``out_dir/last``. ``init_from`` fine-tunes a checkpoint.
    Under torchrun every process calls this; only rank 0 writes files and reports progress.
    Ctrl-C finishes the current step, saves ``last/`` and raises KeyboardInterrupt.
    """
    cfg = load_config(config)
    if init_from is not None:
        cfg = cfg.replace(init_from=str(init_from))
    dist = distributed.setup(cfg.device)
    out = Path(out_dir)
    trainer = None
    threads = torch.get_num_threads()
    try:
        if dist.is_main:
            out.mkdir(parents=True, exist_ok=True)
        dist.barrier()
        trainer = Trainer(cfg, Path(data_dir), out, dist, resume=resume, on_progress=on_progress)
        return trainer.run()
    finally:
        if trainer is not None and trainer.metrics is not None:
            trainer.metrics.close()
        dist.close()
        torch.set_num_threads(threads)
