r"""Character-level language modelling with streaming truncated BPTT, TBPTT(k1, k2).

The text is cut into B contiguous streams read in parallel (column b of a (steps, B) array of
character ids). The model is the sequence model of `scratch_rnn.training.sequence`: one-hot characters in,
a head at every step predicting the next character. Training follows Williams & Peng (1990) and
Sutskever (2013): every k1 new characters, run forward over the last k2 steps (k2 >= k1) from
the state carried in from the stream so far, put the loss on the k1 new steps only, and
backpropagate through the k2 steps; the state entering the window is held constant::

    window  = steps p + k1 - k2 .. p + k1 - 1           (p: characters consumed so far)
    L       = mean over the last k1 steps of the window of CE(out_t, char_{t+1})
    g       = BPTT of L through the window                 (so a loss reaches back k2 - k1 .. k2 steps)

TBPTT(k, k) is the ``h = h.detach()`` idiom. At the end of the training text the streams start
over from a zero state. Validation bits per character: the validation text read as B streams
with the state carried through it, mean cross-entropy / ln 2.
"""
from __future__ import annotations

import numpy as np

from ..training.optim import Adam, clip_grad_norm
from ..training.sequence import final_state, seq_backward, seq_forward, seq_loss
from ..training.tasks import one_hot
from ..training.text import Vocabulary


def streams(ids: np.ndarray, B: int) -> np.ndarray:
    """(steps, B): the text cut into B contiguous pieces of equal length, one per column."""
    steps = len(ids) // B
    if steps < 2:
        raise ValueError(f"--batch: expected at most {len(ids) // 2} streams for {len(ids)} characters, got {B}")
    return np.ascontiguousarray(ids[:steps * B].reshape(B, steps).T)


class TBPTT:
    """Streaming TBPTT(k1, k2) on (steps, B) character streams; `step()` is one update."""

    def __init__(self, params: dict, stream: np.ndarray, k1: int, k2: int, lr: float = 2e-3, clip: float = 1.0,
                 backend: str = "numba"):
        for name, k in (("k1", k1), ("k2", k2)):
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise ValueError(f"--tbptt {name}: expected an integer >= 1, got {k!r}")
        if k2 < k1:
            raise ValueError(f"--tbptt: expected k2 >= k1 (the window must hold the k1 new steps), got k1={k1}, k2={k2}")
        if len(stream) < k2 + 1:
            raise ValueError(f"stream: expected more than k2 = {k2} steps, got {len(stream)}")
        self.params, self.stream, self.k1, self.k2, self.clip, self.backend = params, stream, k1, k2, clip, backend
        self.optimizer = Adam(params, lr=lr)
        self.V = params["weight_ih"].shape[1]
        self.pos = 0                                             # characters consumed, per stream
        self.start = 0                                           # the window's first step, and the state there
        self.state: tuple[np.ndarray | None, np.ndarray | None] = (None, None)

    def step(self) -> float:
        if self.pos + self.k1 + 1 > len(self.stream):            # the end of the text: start over
            self.pos, self.start, self.state = 0, 0, (None, None)
        end = self.pos + self.k1                                 # steps start .. end-1 form the window
        ids = self.stream[self.start:end + 1]
        dtype = self.params["weight_ih"].dtype
        out, cache = seq_forward(self.params, one_hot(ids[:-1], self.V, dtype), self.state[0], self.state[1],
                                 backend=self.backend)
        mask = np.zeros(ids[1:].shape, dtype=bool)
        mask[-self.k1:] = True                                   # the loss is on the k1 new steps only
        loss, dout, _ = seq_loss(out, ids[1:], mask)
        grads, _ = seq_backward(cache, dout)                     # through the window; its entry state is a constant
        clip_grad_norm(grads, self.clip)
        self.optimizer.step(grads)
        nxt = max(0, end + self.k1 - self.k2)                    # where the next window starts
        if nxt > self.start:
            self.state = final_state(cache, nxt - self.start - 1)
            self.start = nxt
        self.pos = end
        return float(loss)


def bits_per_char(params: dict, ids: np.ndarray, B: int = 16, chunk: int = 256, backend: str = "numba") -> float:
    """Mean cross-entropy per character in bits, reading `ids` as B streams with the state carried."""
    st = streams(ids, B)
    V, dtype = params["weight_ih"].shape[1], params["weight_ih"].dtype
    state: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    total, count = 0.0, 0
    for s in range(0, len(st) - 1, chunk):
        piece = st[s:min(len(st), s + chunk + 1)]
        out, cache = seq_forward(params, one_hot(piece[:-1], V, dtype), state[0], state[1], backend=backend)
        loss, _, _ = seq_loss(out, piece[1:])
        total += float(loss) * piece[1:].size
        count += piece[1:].size
        state = final_state(cache)
    return total / count / np.log(2)


def sample(params: dict, vocab: Vocabulary, n: int, temperature: float, rng: np.random.Generator,
           prime: str | None = None, backend: str = "numpy") -> str:
    """`n` characters drawn one at a time from softmax(out / temperature), after reading `prime`
    (default: a newline, or the vocabulary's first character if it has no newline)."""
    if not temperature > 0:
        raise ValueError(f"--temperature: expected a number > 0, got {temperature!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"--chars: expected an integer >= 1, got {n!r}")
    if prime is None:
        prime = "\n" if "\n" in vocab.chars else vocab.chars[0]
    if not prime:
        raise ValueError("--prime: expected at least one character, got an empty string")
    unknown = sorted(set(prime) - set(vocab.chars))
    if unknown:
        raise ValueError(f"--prime: expected characters of the model's vocabulary, got others: {unknown[:10]}")
    dtype = params["weight_ih"].dtype
    ids = vocab.encode(prime)[:, None]                           # (len, 1)
    out, cache = seq_forward(params, one_hot(ids, vocab.size, dtype), backend=backend)
    state, logits, chars = final_state(cache), out[-1, 0].astype(np.float64), []
    for _ in range(n):
        z = logits / temperature
        p = np.exp(z - z.max())
        nxt = int(rng.choice(vocab.size, p=p / p.sum()))
        chars.append(vocab.chars[nxt])
        out, cache = seq_forward(params, one_hot(np.array([[nxt]]), vocab.size, dtype), state[0], state[1],
                                 backend=backend)
        state, logits = final_state(cache), out[-1, 0].astype(np.float64)
    return "".join(chars)
