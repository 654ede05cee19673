r"""Optimisers and gradient clipping on dicts of arrays, with PyTorch's semantics and defaults.

Each optimiser keeps a reference to the parameter dict and updates its arrays in place, so a
model holding the same dict sees the new values. The update rules are PyTorch's single-tensor
implementations, operation for operation, so that trajectories agree to rounding.

Adam (Kingma & Ba 2015; ``torch.optim.Adam``, amsgrad off), at step k = 1, 2, ...::

    g   = grad + weight_decay * p
    m   = m + (1 - beta1) (g - m)              (torch's lerp)
    v   = beta2 v + (1 - beta2) g^2
    p  -= lr / (1 - beta1^k) * m / (sqrt(v) / sqrt(1 - beta2^k) + eps)

SGD (``torch.optim.SGD``, dampening 0, no Nesterov)::

    g   = grad + weight_decay * p
    buf = g at the first step, then momentum * buf + g      (buf = g when momentum = 0)
    p  -= lr * buf
"""
from __future__ import annotations

import numpy as np


def _check_grads(params: dict, grads: dict) -> None:
    if set(grads) != set(params):
        raise ValueError(f"grads: expected keys {sorted(params)}, got {sorted(grads)}")
    for k, g in grads.items():
        if g.shape != params[k].shape or g.dtype != params[k].dtype:
            raise ValueError(f"grads['{k}']: expected shape {params[k].shape} and dtype {params[k].dtype}, "
                             f"got {g.shape} and {g.dtype}")


def _positive(name, value, allow_zero=False):
    if not (value > 0 or (allow_zero and value == 0)) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")


class Adam:
    """Adam (Kingma & Ba 2015), operation for operation as ``torch.optim.Adam`` (with L2 weight decay).

    The parameter arrays are updated in place by `step`.

    Args:
        params: The arrays to optimise, by name; the optimiser keeps references to them.
        lr: The learning rate, > 0.
        betas: The decay rates of the first and second moments, each in [0, 1).
        eps: Added to the denominator, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.

    Raises:
        ValueError: A hyper-parameter is out of range.
    """

    def __init__(self, params: dict, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        _positive("lr", lr)
        _positive("eps", eps, allow_zero=True)
        _positive("weight_decay", weight_decay, allow_zero=True)
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas: expected two numbers in [0, 1), got {betas!r}")
        self.params, self.lr, self.betas, self.eps, self.weight_decay = params, lr, tuple(betas), eps, weight_decay
        self.steps = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, grads: dict) -> None:
        """One update of every parameter, in place.

        Args:
            grads: dL/dparameter for every key of the parameters, each of its parameter's shape and dtype.

        Raises:
            ValueError: A key is missing or unexpected, or a shape or dtype differs.
        """
        _check_grads(self.params, grads)
        beta1, beta2 = self.betas
        self.steps += 1
        bias1 = 1 - beta1 ** self.steps
        bias2_sqrt = (1 - beta2 ** self.steps) ** 0.5
        for k, p in self.params.items():
            g = grads[k] + self.weight_decay * p if self.weight_decay else grads[k]
            m, v = self.m[k], self.v[k]
            m += (1 - beta1) * (g - m)                           # first moment (lerp towards g)
            v *= beta2
            v += (1 - beta2) * (g * g)                           # second moment
            denom = np.sqrt(v) / bias2_sqrt + self.eps
            p -= (self.lr / bias1) * (m / denom)

    def state(self) -> dict:
        """What restores this optimiser exactly (`load_state`).

        Returns:
            ``{"steps": n, "m.<key>": first moment, "v.<key>": second moment}``.
        """
        return {"steps": self.steps, **{f"m.{k}": a for k, a in self.m.items()}, **{f"v.{k}": a for k, a in self.v.items()}}

    def load_state(self, state: dict) -> None:
        """Restore the state that `state` returned.

        Args:
            state: ``{"steps", "m.<key>", "v.<key>"}`` for every parameter.
        """
        self.steps = int(state["steps"])
        for k in self.params:
            self.m[k][...] = state[f"m.{k}"]
            self.v[k][...] = state[f"v.{k}"]


class SGD:
    """Stochastic gradient descent with momentum, operation for operation as ``torch.optim.SGD``.

    Args:
        params: The arrays to optimise, by name; updated in place by `step`.
        lr: The learning rate, > 0.
        momentum: The momentum factor, >= 0 (the first step stores the gradient, as torch does).
        weight_decay: L2 penalty added to the gradient, >= 0.

    Raises:
        ValueError: A hyper-parameter is out of range.
    """

    def __init__(self, params: dict, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        _positive("lr", lr)
        _positive("momentum", momentum, allow_zero=True)
        _positive("weight_decay", weight_decay, allow_zero=True)
        self.params, self.lr, self.momentum, self.weight_decay = params, lr, momentum, weight_decay
        self.steps = 0
        self.buf = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, grads: dict) -> None:
        """One update of every parameter, in place.

        Args:
            grads: dL/dparameter for every key of the parameters, each of its parameter's shape and dtype.

        Raises:
            ValueError: A key is missing or unexpected, or a shape or dtype differs.
        """
        _check_grads(self.params, grads)
        for k, p in self.params.items():
            g = grads[k] + self.weight_decay * p if self.weight_decay else grads[k]
            if self.momentum:
                buf = self.buf[k]
                if self.steps == 0:
                    buf[...] = g
                else:
                    buf *= self.momentum
                    buf += g
                g = buf
            p -= self.lr * g
        self.steps += 1

    def state(self) -> dict:
        """What restores this optimiser exactly (`load_state`).

        Returns:
            ``{"steps": n, "buf.<key>": momentum buffer}``.
        """
        return {"steps": self.steps, **{f"buf.{k}": a for k, a in self.buf.items()}}

    def load_state(self, state: dict) -> None:
        """Restore the state that `state` returned.

        Args:
            state: ``{"steps", "buf.<key>"}`` for every parameter.
        """
        self.steps = int(state["steps"])
        for k in self.params:
            self.buf[k][...] = state[f"buf.{k}"]


def global_norm(grads: dict) -> float:
    """The L2 norm of all arrays together, accumulated in float64."""
    return float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values())))


def clip_grad_norm(grads: dict, max_norm: float) -> float:
    """Scale the gradients in place so that their global L2 norm is at most `max_norm`, as ``torch.nn.utils.clip_grad_norm_``.

    The factor is min(1, max_norm / (norm + 1e-6)); the norm is accumulated in float64.

    Args:
        grads: The gradient arrays, by name; scaled in place.
        max_norm: The largest norm allowed, > 0.

    Returns:
        The global norm before clipping (inf or nan pass through unchanged, as in torch).

    Raises:
        ValueError: max_norm is not a finite number > 0.

    Examples:
        >>> grads = {"w": np.array([3.0, 4.0])}
        >>> sr.clip_grad_norm(grads, 1.0), grads["w"].round(6).tolist()          # the norm before, scaled in place
        (5.0, [0.6, 0.8])
    """
    _positive("max_norm", max_norm)
    total = global_norm(grads)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads.values():
            g *= g.dtype.type(coef)
    return total
