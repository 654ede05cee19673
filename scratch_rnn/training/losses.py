r"""Losses and the linear head, each a forward/backward pair of pure functions.

Shapes: B batch, H hidden size, C classes (or outputs).

Linear head (``nn.Linear`` names and shapes: weight (C, H), bias (C,))::

    logits = h W^T + b                     (B, C)
    dW = dlogits^T h    db = sum_b dlogits    dh = dlogits W

Softmax cross-entropy, the mean over the batch (``torch.nn.functional.cross_entropy``)::

    p = softmax(logits)                    (B, C)   computed from logits - max(logits)
    L = -(1/B) sum_b log p[b, y_b]
    dlogits = (p - onehot(y)) / B

Mean squared error (``torch.nn.functional.mse_loss``), for regression tasks::

    L = mean((pred - target)^2)            dpred = 2 (pred - target) / pred.size
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validate import as_float_array, check_shape


def linear_forward(weight: np.ndarray, bias: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The linear head, ``nn.Linear``: logits = h W^T + b.

    Args:
        weight: W, (C, H).
        bias: b, (C,).
        h: The inputs, (B, H).

    Returns:
        ``(logits, cache)``: logits (B, C), and what `linear_backward` needs.

    Examples:
        >>> logits, cache = sr.linear_forward(np.ones((2, 4)), np.zeros(2), np.ones((3, 4)))   # (C, H), (C,), (B, H)
        >>> logits.tolist()
        [[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]]
    """
    return h @ weight.T + bias, (weight, h)


def linear_backward(cache: tuple, dlogits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear head's backward pass: dW = dlogits^T h, db = sum_b dlogits, dh = dlogits W.

    Args:
        cache: What `linear_forward` returned.
        dlogits: dL/dlogits, (B, C).

    Returns:
        ``(dweight, dbias, dh)``: (C, H), (C,) and (B, H).

    Examples:
        >>> logits, cache = sr.linear_forward(np.ones((2, 4)), np.zeros(2), np.ones((3, 4)))
        >>> dw, db, dh = sr.linear_backward(cache, np.ones((3, 2)))
        >>> dw.shape, db.tolist(), dh.shape
        ((2, 4), [3.0, 3.0], (3, 4))
    """
    weight, h = cache
    return dlogits.T @ h, dlogits.sum(axis=0), dlogits @ weight


def softmax_cross_entropy(logits: ArrayLike, y: ArrayLike) -> tuple[np.floating, np.ndarray]:
    """The mean softmax cross-entropy over the batch, ``torch.nn.functional.cross_entropy``.

    Stable for any finite logits: exp is taken of logits - max <= 0, and log p = shifted -
    log(sum exp(shifted)) never takes the log of an underflowed 0.

    Args:
        logits: (B, C), float32 or float64.
        y: Integer class labels, (B,), in [0, C).

    Returns:
        ``(loss, dlogits)``: the mean loss (a scalar of the logits' dtype), and dL/dlogits =
            (softmax(logits) - onehot(y)) / B, (B, C).

    Raises:
        ValueError: The logits are not a non-empty (B, C) array, or a label is out of range.
        TypeError: The labels are not integers, or the logits not float.

    Examples:
        >>> loss, dlogits = sr.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 2]))
        >>> round(float(loss), 4), dlogits.shape                                   # log 3 for uniform logits
        (1.0986, (2, 3))
    """
    logits = as_float_array("logits", logits)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"logits: expected a non-empty 2-D array (B, C), got shape {logits.shape}")
    B, C = logits.shape
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"y: expected an integer array of class labels, got dtype {y.dtype}")
    check_shape("y", y, (B,), "(B,)")
    if B and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"y: expected labels in [0, {C}), got values in [{y.min()}, {y.max()}]")
    shifted = logits - logits.max(axis=1, keepdims=True)         # (B, C) <= 0
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))   # (B, 1) log sum exp, >= 0
    log_p = shifted - log_z                                      # (B, C) log softmax
    loss = -log_p[np.arange(B), y].mean()
    dlogits = np.exp(log_p)                                      # (B, C) softmax p
    dlogits[np.arange(B), y] -= 1                                # p - onehot(y)
    return logits.dtype.type(loss), dlogits / B


def mse_loss(pred: ArrayLike, target: ArrayLike) -> tuple[np.floating, np.ndarray]:
    """The mean squared error over every element, ``torch.nn.functional.mse_loss``.

    Args:
        pred: The predictions, any shape, float32 or float64.
        target: The targets, of pred's shape and dtype.

    Returns:
        ``(loss, dpred)``: mean((pred - target)^2), and 2 (pred - target) / pred.size.

    Raises:
        ValueError: The shapes differ, or a value is NaN or inf.
        TypeError: A dtype is not float, or the two differ.

    Examples:
        >>> loss, dpred = sr.mse_loss(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
        >>> float(loss), dpred.ravel().tolist()
        (2.5, [1.0, 2.0])
    """
    pred = as_float_array("pred", pred)
    target = as_float_array("target", target, pred.dtype)
    check_shape("target", target, pred.shape, "the shape of pred")
    diff = pred - target
    return pred.dtype.type(np.mean(diff * diff)), 2 * diff / diff.size


def task_loss(task, out, y):
    """(loss, dout, accuracy) of a task's loss (``task.loss``: "cross_entropy" or "mse") on the
    model's output out (B, C); accuracy is nan for a regression task."""
    if task.loss == "mse":
        loss, dout = mse_loss(out, y)
        return loss, dout, float("nan")
    loss, dout = softmax_cross_entropy(out, y)
    return loss, dout, float(np.mean(out.argmax(axis=1) == y))
