"""Piano-roll RNNs with 88 outputs per frame: independent Bernoulli keys, or a NADE over keys.

- ``bernoulli``: an LSTM/GRU over frames; each key of the next frame is an independent
  Bernoulli variable (sigmoid output, BCE summed over keys), as in Bai et al. (2018).
- ``autoregressive``: the same RNN conditions a NADE (Larochelle and Murray, 2011) over the 88
  keys of the next frame, low key to high, as in the RNN-NADE of Boulanger-Lewandowski et al.
  (2012): the RNN state sets the NADE's visible and hidden biases. The frame's log-likelihood
  is exact and computed for all keys at once (no loop over keys).
"""

from __future__ import annotations

import torch
from torch import nn

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


class PianoRollRNN(nn.Module):
    """An LSTM/GRU over piano-roll frames with a Bernoulli or NADE frame distribution."""

    def __init__(self, cfg: PolyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        rnn_cls = nn.LSTM if cfg.rnn == "lstm" else nn.GRU
        between = cfg.dropout if cfg.num_layers > 1 else 0.0
        self.in_drop = nn.Dropout(cfg.input_dropout)
        self.rnn = rnn_cls(KEYS, cfg.hidden_size, cfg.num_layers, batch_first=True, dropout=between)
        self.drop = nn.Dropout(cfg.dropout)
        self.head: BernoulliHead | NADEHead
        if cfg.model == "bernoulli":
            self.head = BernoulliHead(cfg.hidden_size)
        else:
            self.head = NADEHead(cfg.hidden_size, cfg.nade_hidden)

    def states(self, inputs: torch.Tensor) -> torch.Tensor:
        """inputs (B, T, 88) -> RNN states (B, T, H); state t has seen frames 0..t."""
        out, _ = self.rnn(self.in_drop(inputs))
        return self.drop(out)

    def frame_nll(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """NLL in nats of each target frame given the inputs up to it: (B, T)."""
        return self.head.nll(self.states(inputs), targets)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
