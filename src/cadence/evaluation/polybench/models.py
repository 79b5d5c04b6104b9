"""Piano-roll models with 88 outputs per frame: independent Bernoulli keys, or a NADE over keys.

The sequence model (``arch``) is an LSTM/GRU, or a TCN: the causal dilated convolution stack
of Bai, Kolter and Koltun (2018) (residual blocks of two weight-normalised convolutions with
ReLU and dropout, dilation doubling per level).

- ``bernoulli``: each key of the next frame is an independent Bernoulli variable (sigmoid
  output, BCE summed over keys), as in Bai et al. (2018). :class:`Ensemble` averages the
  per-key probabilities of several such models, which is again an independent-key model.
- ``autoregressive``: the same RNN conditions a NADE (Larochelle and Murray, 2011) over the 88
  keys of the next frame, low key to high, as in the RNN-NADE of Boulanger-Lewandowski et al.
  (2012): the RNN state sets the NADE's visible and hidden biases. The frame's log-likelihood
  is exact and computed for all keys at once (no loop over keys).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from cadence.evaluation.polybench.config import PolyConfig
from cadence.evaluation.polybench.data import KEYS
from cadence.evaluation.polybench.protocol import bernoulli_frame_nll

#: Initial output log-odds: about 4 of 88 keys sound in a frame (p ≈ 0.047), so training does
#: not spend its first steps unlearning p = 0.5.
PRIOR_LOGIT = -3.0


class BernoulliHead(nn.Module):
    """Independent keys: logits = Linear(state)."""

    def __init__(self, hidden: int, keys: int = KEYS) -> None:
        super().__init__()
        self.out = nn.Linear(hidden, keys)
        nn.init.constant_(self.out.bias, PRIOR_LOGIT)

    def logits(self, state: torch.Tensor) -> torch.Tensor:
        """state (..., H) -> log-odds (..., K)."""
        return self.out(state)

    def nll(self, state: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """state (..., H), frames (..., K) -> NLL in nats (...,)."""
        return bernoulli_frame_nll(self.logits(state), frames)


class NADEHead(nn.Module):
    """A NADE over the K keys of a frame whose biases depend on the RNN state.

    p(v) = prod_d p(v_d | v_<d), with
        h_d = sigmoid(c(s) + W[:d]^T v[:d])       (H_n,)
        p(v_d = 1 | v_<d) = sigmoid(b(s)_d + V_d . h_d)
    where s is the RNN state and b, c are linear maps of it.
    """

    def __init__(self, hidden: int, nade_hidden: int, keys: int = KEYS) -> None:
        super().__init__()
        self.keys = keys
        self.b = nn.Linear(hidden, keys)  # visible biases from the state
        nn.init.constant_(self.b.bias, PRIOR_LOGIT)
        self.c = nn.Linear(hidden, nade_hidden)  # hidden biases from the state
        self.W = nn.Parameter(torch.randn(keys, nade_hidden) * 0.01)  # key d -> hidden
        self.V = nn.Parameter(torch.randn(keys, nade_hidden) * 0.01)  # hidden -> key d

    def logits(self, state: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log-odds of each key given the keys below it: (..., K).

        The hidden pre-activation only changes at the sounding keys of the frame, so with m
        keys down at most, h_d takes one of m + 1 values: the segments between sounding keys.
        Computing those (N, m+1, Hn) instead of every (N, K, Hn) is exact and ~K/m faster
        than the dense ``cumsum`` form (which the tests check it against).
        """
        lead = frames.shape[:-1]
        v = frames.reshape(-1, self.keys)  # (N, K) of 0/1
        s = state.reshape(-1, state.shape[-1])  # (N, H)
        n, hn = v.shape[0], self.W.shape[1]
        m = int(v.sum(-1).max()) if n else 0
        keys = torch.arange(self.keys, device=v.device).expand(n, -1)
        sounding = torch.where(v > 0, keys, self.keys).sort(-1).values[:, :m]  # (N, m), pad K
        w_pad = torch.cat([self.W, self.W.new_zeros(1, hn)])  # (K+1, Hn): the pad adds nothing
        steps = torch.cumsum(w_pad[sounding], dim=1)  # (N, m, Hn)
        acts = self.c(s).unsqueeze(1) + torch.cat([steps.new_zeros(n, 1, hn), steps], 1)
        per_seg = torch.sigmoid(acts) @ self.V.T  # (N, m+1, K)
        seg = (torch.cumsum(v, -1) - v).long()  # (N, K): sounding keys below key d
        out = self.b(s) + per_seg.gather(1, seg.unsqueeze(1)).squeeze(1)  # (N, K)
        return out.reshape(*lead, self.keys)

    def nll(self, state: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Exact NLL of each frame in nats: state (..., H), frames (..., K) -> (...,)."""
        return bernoulli_frame_nll(self.logits(state, frames), frames)

    @torch.no_grad()
    def sample(self, state: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One frame per state, key by key: state (N, H) -> (N, K) 0/1 floats."""
        n = state.shape[0]
        acts = self.c(state)  # (N, Hn)
        b = self.b(state)  # (N, K)
        out = torch.zeros(n, self.keys)
        for d in range(self.keys):
            p = torch.sigmoid(b[:, d] + torch.sigmoid(acts) @ self.V[d])
            out[:, d] = torch.bernoulli(p, generator=generator)
            acts = acts + out[:, d : d + 1] * self.W[d]
        return out


class CausalConv(nn.Module):
    """A weight-normalised Conv1d padded on the left only: output t sees inputs <= t."""

    def __init__(self, n_in: int, n_out: int, kernel: int, dilation: int) -> None:
        super().__init__()
        conv = nn.Conv1d(n_in, n_out, kernel, dilation=dilation)
        nn.init.normal_(conv.weight, 0.0, 0.01)  # as Bai et al.'s code
        self.conv = weight_norm(conv)
        self.pad = (kernel - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C_in, T) -> (B, C_out, T)."""
        return self.conv(F.pad(x, (self.pad, 0)))


class TemporalBlock(nn.Module):
    """relu(x + drop(relu(conv2(drop(relu(conv1(x))))))); x through a 1x1 conv if widths differ."""

    def __init__(self, n_in: int, n_out: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = CausalConv(n_in, n_out, kernel, dilation)
        self.conv2 = CausalConv(n_out, n_out, kernel, dilation)
        self.drop = nn.Dropout(dropout)
        self.down = nn.Conv1d(n_in, n_out, 1) if n_in != n_out else None
        if self.down is not None:
            nn.init.normal_(self.down.weight, 0.0, 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(torch.relu(self.conv1(x)))
        out = self.drop(torch.relu(self.conv2(out)))
        res = x if self.down is None else self.down(x)
        return torch.relu(out + res)


class TCN(nn.Module):
    """Bai et al.'s TemporalConvNet over (B, T, C) frames; receptive field 1 + 2(k-1)(2^L - 1)."""

    def __init__(self, n_in: int, channels: int, levels: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *(
                TemporalBlock(n_in if i == 0 else channels, channels, kernel, 2**i, dropout)
                for i in range(levels)
            )
        )
        self.receptive_field = 1 + 2 * (kernel - 1) * (2**levels - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C_in) -> (B, T, channels)."""
        return self.blocks(x.transpose(1, 2)).transpose(1, 2)


class PianoRollRNN(nn.Module):
    """An LSTM/GRU or a TCN over piano-roll frames with a Bernoulli or NADE frame distribution.

    (The name predates the TCN option; ``PianoRollModel`` is the same class.)
    """

    def __init__(self, cfg: PolyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.in_drop = nn.Dropout(cfg.input_dropout)
        self.rnn: nn.Module
        if cfg.arch == "tcn":
            self.rnn = TCN(KEYS, cfg.hidden_size, cfg.levels, cfg.kernel_size, cfg.dropout)
            self.drop = nn.Dropout(0.0)  # the TCN drops out after every convolution itself
        else:
            rnn_cls = nn.LSTM if cfg.rnn == "lstm" else nn.GRU
            between = cfg.dropout if cfg.num_layers > 1 else 0.0
            self.rnn = rnn_cls(
                KEYS, cfg.hidden_size, cfg.num_layers, batch_first=True, dropout=between
            )
            self.drop = nn.Dropout(cfg.dropout)
        self.head: BernoulliHead | NADEHead
        if cfg.model == "bernoulli":
            self.head = BernoulliHead(cfg.hidden_size)
        else:
            self.head = NADEHead(cfg.hidden_size, cfg.nade_hidden)

    def states(self, inputs: torch.Tensor) -> torch.Tensor:
        """inputs (B, T, 88) -> states (B, T, H); state t has seen frames 0..t only."""
        out = self.rnn(self.in_drop(inputs))
        if isinstance(out, tuple):  # LSTM/GRU: (outputs, final state)
            out = out[0]
        return self.drop(out)

    def frame_nll(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """NLL in nats of each target frame given the inputs up to it: (B, T)."""
        return self.head.nll(self.states(inputs), targets)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


PianoRollModel = PianoRollRNN


class Ensemble(nn.Module):
    """Independent-key models whose per-key probabilities are averaged.

    p(key k of frame t sounds) = mean over members of their sigmoid outputs, each key still an
    independent Bernoulli variable, so the frame likelihood is a product over keys as the
    protocol asks. Computed in log space: log mean_m p_m(v_k) = logsumexp_m log p_m(v_k) - log M.
    """

    def __init__(self, members: list[PianoRollRNN]) -> None:
        super().__init__()
        if not members or any(m.cfg.model != "bernoulli" for m in members):
            raise ValueError("an ensemble needs one or more bernoulli (independent-key) models")
        self.members = nn.ModuleList(members)

    def key_log_probs(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(targets) per key under the averaged probabilities: (B, T, 88)."""
        per = []
        for m in self.members:
            logits = m.head.logits(m.states(inputs))  # type: ignore[call-arg]
            per.append(-F.binary_cross_entropy_with_logits(logits, targets, reduction="none"))
        return torch.logsumexp(torch.stack(per), 0) - math.log(len(per))

    def probs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The averaged probability of each key sounding: (B, T, 88)."""
        stack = [torch.sigmoid(m.head.logits(m.states(inputs))) for m in self.members]  # type: ignore[call-arg]
        return torch.stack(stack).mean(0)

    def frame_nll(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """NLL in nats of each target frame: (B, T)."""
        return -self.key_log_probs(inputs, targets).sum(-1)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
