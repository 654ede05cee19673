"""Input checks shared by every public entry point.

Each check raises with a message that names the argument, the expected value and the actual one.
Nothing is broadcast, cast or truncated silently: the arrays the kernels see are exactly the arrays
the caller passed (made C-contiguous, never converted to another dtype).
"""
from __future__ import annotations

import numpy as np

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
"""The parameters of one layer and direction, PyTorch's names; an LSTM with a projection adds "weight_hr"."""
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BACKENDS = ("numpy", "numba")


def check_backend(backend) -> str:
    """Return `backend` if it is one of BACKENDS, else raise ValueError."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    return backend


def as_float_array(name: str, value, dtype: np.dtype | None = None) -> np.ndarray:
    """`value` as a C-contiguous float32/float64 array, without any dtype conversion.

    Raises TypeError for non-float dtypes and for a dtype other than `dtype` (when given),
    ValueError for NaN or inf.
    """
    arr = np.asarray(value)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (the dtype of x), got {arr.dtype}")
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or inf entries")
    return np.ascontiguousarray(arr)


def check_shape(name: str, arr: np.ndarray, expected: tuple, meaning: str) -> None:
    """Raise ValueError unless arr.shape == expected; `meaning` spells the shape in letters."""
    if arr.shape != tuple(expected):
        raise ValueError(f"{name}: expected shape {meaning} = {tuple(expected)}, got {arr.shape}")


def check_x(x) -> np.ndarray:
    """x must be a float array of shape (T, B, D) with T, B, D >= 1."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x: expected a 3-D array (T, B, D), got {x.ndim}-D with shape {x.shape}")
    for letter, size in zip("TBD", x.shape):
        if size == 0:
            raise ValueError(f"x: expected {letter} >= 1 in shape (T, B, D), got shape {x.shape}")
    return as_float_array("x", x)


def check_params(params, G: int, D: int, dtype: np.dtype, projection: bool = False) -> tuple[dict, int]:
    """Check the parameter dict of a layer with G gates (1 RNN, 3 GRU, 4 LSTM) fed inputs of size D;
    `projection`: the layer may have a ``weight_hr`` (the LSTM).

    Returns (params as contiguous arrays, H). Keys and shapes are PyTorch's: weight_ih (G*H, D), weight_hh (G*H, P), bias_ih (G*H,), bias_hh (G*H,), and P = H,
    except for an LSTM with a projection: then ``weight_hr`` (P, H) is a fifth key and the hidden
    state has P entries, the cell state H (``nn.LSTM(..., proj_size=P)``).
    """
    allowed = PARAM_NAMES + (("weight_hr",) if projection else ())
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict with keys {PARAM_NAMES}, got {type(params).__name__}")
    missing = [k for k in PARAM_NAMES if k not in params]
    unknown = sorted(str(k) for k in params if k not in allowed)
    if missing or unknown:
        raise ValueError(
            f"params: expected keys {PARAM_NAMES}" + (" and optionally 'weight_hr'" if projection else "")
            + f", got {tuple(sorted(map(str, params)))} (missing: {missing}, unknown: {unknown})"
        )
    p = {k: as_float_array(f"params['{k}']", params[k], dtype) for k in allowed if k in params}
    w_hh = p["weight_hh"]
    if w_hh.ndim != 2 or w_hh.shape[1] == 0:
        raise ValueError(f"params['weight_hh']: expected shape (G*H, P) with P >= 1, got {w_hh.shape}")
    P = w_hh.shape[1]
    H = P
    if "weight_hr" in p:
        w_hr = p["weight_hr"]
        if w_hr.ndim != 2 or w_hr.shape[1] == 0:
            raise ValueError(f"params['weight_hr']: expected shape (P, H) with H >= 1, got {w_hr.shape}")
        H = w_hr.shape[1]
        check_shape("params['weight_hr']", w_hr, (P, H), f"(P, H) with P={P} (weight_hh's columns), H={H}")
    check_shape("params['weight_hh']", w_hh, (G * H, P),
                f"(G*H, P) with G={G}, H={H}, P={P}" if "weight_hr" in p else f"(G*H, H) with G={G}, H={H}")
    check_shape("params['weight_ih']", p["weight_ih"], (G * H, D), f"(G*H, D) with G={G}, H={H}, D={D}")
    check_shape("params['bias_ih']", p["bias_ih"], (G * H,), f"(G*H,) with G={G}, H={H}")
    check_shape("params['bias_hh']", p["bias_hh"], (G * H,), f"(G*H,) with G={G}, H={H}")
    return p, H


def check_state(name: str, value, B: int, H: int, dtype: np.dtype, letter: str = "H") -> np.ndarray:
    """An initial state (h0 or c0): zeros if None, else a (B, H) array of x's dtype (`letter`
    names the size: "P" for the hidden state of an LSTM with a projection)."""
    if value is None:
        return np.zeros((B, H), dtype=dtype)
    arr = as_float_array(name, value, dtype)
    check_shape(name, arr, (B, H), f"(B, {letter})")
    return arr


def check_range(x: np.ndarray, p: dict, h0: np.ndarray) -> None:
    """Refuse inputs whose pre-activations x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh could
    overflow x's dtype, where the backends would disagree (NumPy: inf - inf = NaN states; Numba's
    tanh: 1.0). The bound, in float64, is max|x| ||W_ih||_inf + max|b_ih| + max(s, max|h0|)
    ||W_hh||_inf + max|b_hh|, where s bounds |h_t| after the first step: 1, or ||W_hr||_inf for
    an LSTM with a projection (h_t = (o_t * tanh(c_t)) W_hr^T); a ValueError names it."""
    def amax(a):
        return float(np.abs(a).max(initial=0.0))

    def row_sum(w):                                                # the infinity norm, in float64
        with np.errstate(over="ignore"):                           # inf is an answer here: refused below
            return float(np.abs(w).astype(np.float64).sum(axis=1).max(initial=0.0))

    s = row_sum(p["weight_hr"]) if "weight_hr" in p else 1.0
    bound = (amax(x) * row_sum(p["weight_ih"]) + amax(p["bias_ih"])
             + max(s, amax(h0)) * row_sum(p["weight_hh"]) + amax(p["bias_hh"]))
    limit = float(np.finfo(x.dtype).max)
    if not bound < limit:
        raise ValueError(f"x, params, h0: the pre-activations x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh can reach "
                         f"{bound:.3g}, beyond the largest {x.dtype} ({limit:.3g}); scale the inputs or the "
                         f"parameters down, or use float64")


def read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of `a`: returned states share memory with the cache, and an in-place
    change would silently change the gradients."""
    v = a.view()
    v.flags.writeable = False
    return v


def frozen_copy(p: dict) -> dict:
    """Copies of the parameter arrays, for a cache that must not change under the caller's edits."""
    return {k: v.copy() for k, v in p.items()}


def check_arrays(what: str, given: dict, expected: dict) -> None:
    """Raise ValueError unless `given` has exactly the keys of `expected`, each with its shape and dtype."""
    missing, extra = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
    if missing or extra:
        raise ValueError(f"{what}s: expected keys {sorted(expected)}, got {sorted(given)} "
                         f"(missing: {missing}, unexpected: {extra})")
    for k, v in expected.items():
        g = np.asarray(given[k])
        if g.shape != np.shape(v) or g.dtype != np.asarray(v).dtype:
            raise ValueError(f"{what} {k!r}: expected shape {np.shape(v)} and dtype {np.asarray(v).dtype}, "
                             f"got {g.shape} and {g.dtype}")


#: the sizes a cache's shapes are spelled in, in the order `check_cache` computes them
_LETTERS = ("T", "B", "D", "H", "P", "G*H", "3", "4")


def cache_fields(extra: dict[str, str]) -> tuple:
    """What `check_cache` checks in a cell's cache, parsed once (at import): the arrays the backward loops
    read (the weights, h0, h) and `extra` (name -> its shape in the letters T, B, D, H, P and G*H), each
    as (label, parameter key or None, attribute, letters, positions of the letters in `_LETTERS`)."""
    common = {"params['weight_ih']": "G*H D", "params['weight_hr']": "P H", "h0": "B P", "h": "T B P"}
    return tuple((label, label[8:-2] if label.startswith("params[") else None, label, tuple(letters.split()),
                  tuple(_LETTERS.index(c) for c in letters.split())) for label, letters in {**common, **extra}.items())


def check_cache(kind: str, cache, gates: int, fields: tuple) -> None:
    """A cache edited since its forward pass is refused before the loops index into it: x is
    (T, B, D), and every field of `fields` (`cache_fields`) has the shape x and weight_hh give, in x's
    dtype (``weight_hr`` only where the cache has one). Shape checks only: the values were checked when
    the forward pass made the cache."""
    x, p = cache.x, cache.params
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"cache.x: expected a float array (T, B, D), got {type(x).__name__} "
                         f"{getattr(x, 'shape', '')} {_edited(kind)}")
    w_hh = p.get("weight_hh") if isinstance(p, dict) else None
    if not isinstance(w_hh, np.ndarray) or w_hh.ndim != 2 or w_hh.shape[0] % gates:
        raise ValueError(f"cache.params['weight_hh']: expected an array of shape (G*H, P) with G = {gates}, got "
                         f"{getattr(w_hh, 'shape', type(w_hh).__name__)} {_edited(kind)}")
    H = w_hh.shape[0] // gates
    sizes = (*x.shape, H, w_hh.shape[1], gates * H, 3, 4)       # in the order of _LETTERS
    dtype = x.dtype
    for label, key, attribute, letters, positions in fields:
        if key is None:
            value = getattr(cache, attribute)
        elif key == "weight_hr" and key not in p:
            continue                                             # no projection
        else:
            value = p.get(key)
        want = tuple([sizes[i] for i in positions])
        if value.__class__ is not np.ndarray or value.shape != want or value.dtype != dtype:
            got = f"{value.shape} {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(f"cache.{label}: expected shape ({', '.join(letters)}) = {want} in {dtype}, "
                             f"got {got} {_edited(kind)}")


def _edited(kind: str) -> str:
    return f"(a cache is what {kind}_forward returned, unchanged)"
