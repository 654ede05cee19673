"""Long-lag tasks. Each takes a ``numpy.random.Generator`` and returns time-major inputs
x (T, B, D) and targets.

* ``temporal_xor`` - the study's task, exactly as its notebook defines it: uniform noise in
  [0, 1), the first and the last element replaced by independent 0/1 bits, label = their XOR.
* ``first_bit`` - the same sequences, label = the first bit alone: memory without the XOR.
* ``adding`` - the adding problem (Hochreiter & Schmidhuber 1997), in the form used by
  Le et al. 2015 and Arjovsky et al. 2016: two channels, values U(0, 1) and a marker that is 1 at
  one step in the first half and one in the second; the target is the sum of the two marked values.
  A regression task (mean squared error); predicting 1 always gives MSE about 1/6.
"""
from __future__ import annotations

from dataclasses import dataclass

from typing import Callable

import numpy as np
from numpy.typing import DTypeLike


@dataclass(frozen=True)
class Task:
    """What a task is, beside its sampler.

    Attributes:
        name: "xor", "first_bit" or "adding".
        input_size: D, the inputs per step.
        outputs: C, the classes, or the outputs of a regression.
        loss: "cross_entropy" or "mse".
        chance: The accuracy of guessing (classification), or the MSE of the best constant.
    """

    name: str
    input_size: int       # D
    outputs: int          # C (classes) or outputs of a regression
    loss: str             # "cross_entropy" or "mse"
    chance: float         # accuracy of guessing (classification), or MSE of the best constant


def _check(T, B, rng, min_T):
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < min_T:
        raise ValueError(f"T: expected an integer >= {min_T}, got {T!r}")
    if isinstance(B, bool) or not isinstance(B, (int, np.integer)) or B < 1:
        raise ValueError(f"B: expected an integer >= 1, got {B!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")


def _xor_sequences(T, B, rng, dtype):
    x = rng.random((T, B, 1)).astype(dtype)                      # noise in [0, 1)
    first = rng.integers(0, 2, size=B)
    last = rng.integers(0, 2, size=B)
    x[0, :, 0] = first
    x[-1, :, 0] = last
    return x, first, last


def temporal_xor(T: int, B: int, rng: np.random.Generator,
                 dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Temporal XOR: uniform noise in [0, 1) whose first and last elements are random bits; the label is their XOR.

    Args:
        T: The sequence length, >= 2.
        B: The batch size, >= 1.
        rng: The generator every draw comes from.
        dtype: The dtype of x, float32 or float64.

    Returns:
        ``(x, y)``: x (T, B, 1), y (B,) int64 = x[0] XOR x[T-1].

    Raises:
        ValueError: T or B is not an integer in range.
        TypeError: `rng` is not a ``numpy.random.Generator``.

    Examples:
        >>> x, y = sr.temporal_xor(10, 4, np.random.default_rng(0))
        >>> x.shape, y.shape, bool(np.array_equal(y, (x[0, :, 0] != x[-1, :, 0]).astype(y.dtype)))
        ((10, 4, 1), (4,), True)
    """
    _check(T, B, rng, 2)
    x, first, last = _xor_sequences(T, B, rng, dtype)
    return x, (first != last).astype(np.int64)


def first_bit(T: int, B: int, rng: np.random.Generator,
              dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The first-bit control: the temporal-XOR sequences, labelled by their first bit alone (memory without XOR).

    Args:
        T: The sequence length, >= 2.
        B: The batch size, >= 1.
        rng: The generator every draw comes from.
        dtype: The dtype of x, float32 or float64.

    Returns:
        ``(x, y)``: x (T, B, 1), y (B,) int64 = x[0].

    Raises:
        ValueError: T or B is not an integer in range.
        TypeError: `rng` is not a ``numpy.random.Generator``.

    Examples:
        >>> x, y = sr.first_bit(10, 4, np.random.default_rng(0))
        >>> bool(np.array_equal(y, x[0, :, 0].astype(y.dtype)))                   # the label is the first bit
        True
    """
    _check(T, B, rng, 2)
    x, first, _ = _xor_sequences(T, B, rng, dtype)
    return x, first.astype(np.int64)


def adding(T: int, B: int, rng: np.random.Generator,
           dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997): values U(0, 1) and a marker on one step in each half; the target is the sum of the two marked values.

    Args:
        T: The sequence length, >= 2.
        B: The batch size, >= 1.
        rng: The generator every draw comes from.
        dtype: The dtype of x, float32 or float64.

    Returns:
        ``(x, y)``: x (T, B, 2), channel 0 the values and 1 the markers; y (B, 1) in x's dtype.

    Raises:
        ValueError: T or B is not an integer in range.
        TypeError: `rng` is not a ``numpy.random.Generator``.

    Examples:
        >>> x, y = sr.adding(10, 4, np.random.default_rng(0))
        >>> x.shape, y.shape, bool(np.allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=0)))
        ((10, 4, 2), (4, 1), True)
    """
    _check(T, B, rng, 2)
    half = T // 2
    x = np.zeros((T, B, 2), dtype=dtype)
    x[:, :, 0] = rng.random((T, B))
    i = rng.integers(0, half, size=B)                            # marker in the first half
    j = rng.integers(half, T, size=B)                            # and one in the second
    b = np.arange(B)
    x[i, b, 1] = 1
    x[j, b, 1] = 1
    return x, (x[i, b, 0] + x[j, b, 0]).astype(dtype)[:, None]


TASKS = {
    "xor": (temporal_xor, Task("xor", 1, 2, "cross_entropy", 0.5)),
    "first_bit": (first_bit, Task("first_bit", 1, 2, "cross_entropy", 0.5)),
    "adding": (adding, Task("adding", 2, 1, "mse", 1 / 6)),
}


def get_task(name: str) -> tuple[Callable[..., tuple[np.ndarray, np.ndarray]], Task]:
    """A task by name.

    Args:
        name: "xor", "first_bit" or "adding".

    Returns:
        ``(sampler, task)``: the sampler ``sampler(T, B, rng, dtype) -> (x, y)`` and its `Task`.

    Raises:
        ValueError: An unknown name.

    Examples:
        >>> sampler, task = sr.get_task("xor")
        >>> task.input_size, task.outputs, sampler(5, 2, np.random.default_rng(0))[0].shape
        (1, 2, (5, 2, 1))
    """
    if name not in TASKS:
        raise ValueError(f"task: expected one of {tuple(TASKS)}, got {name!r}")
    return TASKS[name]


#: the copying task's alphabet: 0 blank, 1..8 the symbols to copy, 9 the delimiter
COPY_SYMBOLS, COPY_BLANK, COPY_DELIMITER, COPY_N = 8, 0, 9, 10


def one_hot(ids: np.ndarray, V: int, dtype) -> np.ndarray:
    """(..., V) one-hot vectors of the integer ids (...)."""
    x = np.zeros((*ids.shape, V), dtype=dtype)
    np.put_along_axis(x, ids[..., None], 1, axis=-1)
    return x


def copying(T: int, B: int, rng: np.random.Generator,
            dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The copying memory task in the form of Arjovsky, Shah & Bengio 2016: 10 symbols drawn from 8
    categories, T blanks (the last one replaced by the delimiter), then 10 blanks during which the
    10 symbols must be output. x (T + 20, B, 10) one-hot; y (T + 20, B) int labels: blank (0)
    everywhere but the last 10 steps, which hold the symbols. Each symbol is recalled T + 10 steps
    after it was seen. Outputting blanks and then guessing uniformly among the 8 symbols has
    cross-entropy 10 log 8 / (T + 20) per step (`copying_baseline`). T >= 1."""
    _check(T, B, rng, 1)
    L = T + 20
    symbols = rng.integers(1, COPY_SYMBOLS + 1, size=(COPY_N, B))
    tokens = np.full((L, B), COPY_BLANK)
    tokens[:COPY_N] = symbols
    tokens[T + COPY_N - 1] = COPY_DELIMITER                       # the last step before the recall
    x = one_hot(tokens, COPY_SYMBOLS + 2, dtype)
    y = np.full((L, B), COPY_BLANK, dtype=np.int64)
    y[-COPY_N:] = symbols
    return x, y


def copying_baseline(T: int) -> float:
    """The memoryless cross-entropy per step: 10 log 8 / (T + 20)."""
    return COPY_N * float(np.log(COPY_SYMBOLS)) / (T + 20)
