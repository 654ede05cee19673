"""The tasks of Marschall, Cho & Savin's (2020) setting as endless streams (`scratch_rnn.online.stream` learns
on them): their add task, with the lags their jobs used or set by a difficulty d, and their mimic task, the
outputs of a fixed target RNN (their first, 32 inputs and outputs, and a 2-input family of ours scaled by d).
Each sampler returns (x, the training label, the label's distribution), (steps, N, .) each.
"""
from __future__ import annotations

import numpy as np

#: the tasks `scratch_rnn.online.stream.run_stream` learns
STREAM_TASKS = ("add", "mimic", "mimic32")


def add_lags(difficulty: int) -> tuple[int, int]:
    """The add task's lags (t1, t2) at a difficulty d = 0..9: (d + 1, d + 5), so that d = 5 is their (6, 10).

    Args:
        difficulty: d, an integer in 0..9.

    Returns:
        (t1, t2), the lags of the two bits the label depends on.

    Examples:
        >>> from scratch_rnn.online.stream_tasks import add_lags
        >>> add_lags(5)                                          # their add task at alpha = 1
        (6, 10)
    """
    _check_difficulty(difficulty)
    return difficulty + 1, difficulty + 5


def _check_difficulty(d) -> None:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 9:
        raise ValueError(f"difficulty: expected an integer in 0..9, got {d!r}")


def add_stream(steps: int, N: int, rng: np.random.Generator, lags: tuple[int, int], tau_task: int = 1,
               deterministic: bool = True):
    """N streams of their add task: inputs x_t = [b_t, 1 - b_t] with b_t ~ Bernoulli(1/2) (each held for
    `tau_task` steps), p_t = 1/2 + 1/2 b_{t - t1} - 1/4 b_{t - t2} (lags counted in draws); the label
    [p_t, 1 - p_t] itself (`deterministic`, as their jobs ran it) or a one-hot draw of Bernoulli(p_t).

    Returns:
        (x (steps, N, 2), labels (steps, N, 2), p (steps, N, 2) the label's distribution).
    """
    t1, t2 = lags
    n = -(-steps // tau_task) + t2                               # draws, with t2 before the stream starts
    b = rng.integers(0, 2, size=(n, N)).astype(np.float64)
    p = 0.5 + 0.5 * b[t2 - t1:n - t1] - 0.25 * b[:n - t2]        # (n - t2, N)
    draw = (rng.random(p.shape) < p).astype(np.float64)
    y = p if deterministic else draw
    b = b[t2:]

    def held(v):                                                 # [v, 1 - v], each draw held tau_task steps
        return np.repeat(np.stack([v, 1 - v], axis=2), tau_task, axis=0)[:steps]
    return held(b), held(y), held(p)


def mimic_target(difficulty: int, H: int = 32, D: int = 2, O: int = 2, seed: int = 2020) -> dict:
    """The mimic task's target network at a difficulty d: a tanh RNN (alpha = 1) with H units, D inputs and
    O outputs, W_rec orthogonal scaled by 0.5 + 0.1 d, W_in ~ N(0, 1/D), W_out ~ N(0, 1/H), zero biases;
    drawn from its own generator, the same for every stream.

    Args:
        difficulty: d, an integer in 0..9.
        H: The target's units.
        D: Its inputs.
        O: Its outputs.
        seed: Seeds its weights (with d).

    Returns:
        {"W_rec": (H, H), "W_in": (H, D), "W_out": (O, H)}.

    Examples:
        >>> import numpy as np
        >>> from scratch_rnn.online.stream_tasks import mimic_target
        >>> np.linalg.svd(mimic_target(9)["W_rec"], compute_uv=False).round(6).max()   # every gain 0.5 + 0.1 d
        np.float64(1.4)
    """
    _check_difficulty(difficulty)
    g = np.random.default_rng([seed, difficulty])
    q, r = np.linalg.qr(g.normal(0, 1, (H, H)))
    return {"W_rec": (0.5 + 0.1 * difficulty) * q * np.sign(np.diag(r)), "W_in": g.normal(0, 1 / np.sqrt(D), (H, D)),
            "W_out": g.normal(0, 1 / np.sqrt(H), (O, H))}


def mimic32_target(alpha: float, seed: int = 2020) -> dict:
    """Their first mimic task's target: 32 inputs, 32 units, 32 outputs, W_rec orthogonal, W_in ~ N(0, 1/32),
    W_out ~ N(0, 1/32), biases ~ N(0, 0.1^2), the target's leak the network's (alpha)."""
    g = np.random.default_rng([seed, 32])
    q, r = np.linalg.qr(g.normal(0, 1, (32, 32)))
    return {"W_rec": q * np.sign(np.diag(r)), "W_in": g.normal(0, np.sqrt(1 / 32), (32, 32)),
            "W_out": g.normal(0, np.sqrt(1 / 32), (32, 32)), "b_rec": g.normal(0, 0.1, 32),
            "b_out": g.normal(0, 0.1, 32), "alpha": float(alpha)}


def mimic_stream(steps: int, N: int, rng: np.random.Generator, target: dict, tau_task: int = 1):
    """N streams of their mimic task: inputs Bernoulli(1/2) in every channel, the label the target network's
    output fed the same inputs from a = 0 (their ``Mimic_RNN``).

    Returns:
        (x (steps, N, D), y (steps, N, O), y again: a regression's label is its own expectation).
    """
    D, H = target["W_in"].shape[1], target["W_rec"].shape[0]
    alpha = target.get("alpha", 1.0)
    b_rec, b_out = target.get("b_rec", np.zeros(H)), target.get("b_out", 0.0)
    x = np.repeat(rng.integers(0, 2, size=(-(-steps // tau_task), N, D)).astype(np.float64), tau_task, axis=0)[:steps]
    a = np.zeros((N, H))
    y = np.empty((steps, N, target["W_out"].shape[0]))
    for t in range(steps):
        a = (1 - alpha) * a + alpha * np.tanh(a @ target["W_rec"].T + x[t] @ target["W_in"].T + b_rec)
        y[t] = a @ target["W_out"].T + b_out
    return x, y, y


def mimic_level(target: dict, steps: int = 20000, tau_task: int = 1) -> float:
    """The loss 0.5 |z - y|^2 of the best constant output (half the label's total variance): what a network
    that learned nothing of the target's dynamics scores."""
    _, y, _ = mimic_stream(steps, 1, np.random.default_rng(0), target, tau_task)
    return float(0.5 * np.sum(np.var(y[:, 0], axis=0)))
