r"""tanh and sigmoid that LLVM can vectorise, accurate to a few units in the last place.

Numba compiles ``np.tanh`` and ``np.exp`` inside a loop to one scalar libm call per element
(8-13 ns; llvmlite carries no vector math library), which would make the gate nonlinearities,
not the matrix products, the cost of a kernel. These functions use only arithmetic and bit
operations, so a loop over them compiles to SIMD code (about 1 ns per element in float64 and
half that in float32, measured in benchmarks/).

Both rest on one range reduction, for y >= 0::

    y = k ln2 + r,  k = round(y / ln2),  |r| <= ln2 / 2
    exp(-y)   = 2^-k (q + 1)             q = expm1(-r), a Taylor polynomial
    expm1(-y) = 2^-k q + (2^-k - 1)      no cancellation, also for small y

    tanh(v)    = sign(v) * (-m) / (2 + m),   m = expm1(-2|v|)
    sigmoid(v) = s for v >= 0,  e * s for v < 0,   e = exp(-|v|),  s = 1 / (1 + e)

The sigmoid is the formula of the NumPy reference (`scratch_rnn.lstm.sigmoid`); tanh keeps the
sign of zero (tanh(-0.0) = -0.0), like ``np.tanh``. Each function
exists in float64 (degree-14 polynomial, error < 1e-17) and float32 (degree 8, < 1e-9), chosen
by the dtype of the array, so float32 kernels run at float32 SIMD width. Measured against
``np.tanh`` and the reference sigmoid: at most about 2 units in the last place (tests/test_numba.py).
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from .flags import FLAGS, jit

_C = [1.0 / math.factorial(n) for n in range(15)]


@intrinsic
def _pow2_f64(typingctx, k):
    """2.0 ** k for an int64 k in [-1022, 1023], built from its bits (exponent field k + 1023)."""
    def codegen(context, builder, signature, args):
        biased = builder.add(args[0], ir.Constant(ir.IntType(64), 1023))
        return builder.bitcast(builder.shl(biased, ir.Constant(ir.IntType(64), 52)), ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _pow2_f32(typingctx, k):
    """2.0 ** k as float32 for an int32 k in [-126, 127] (exponent field k + 127)."""
    def codegen(context, builder, signature, args):
        biased = builder.add(args[0], ir.Constant(ir.IntType(32), 127))
        return builder.bitcast(builder.shl(biased, ir.Constant(ir.IntType(32), 23)), ir.FloatType())
    return types.float32(types.int32), codegen


# float64 constants
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01        # ln 2 in two parts: k * _LN2_HI is exact for k < 2^20
_LN2_LO = 1.90821492927058770002e-10
C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14 = _C[3:15]

# float32 constants (Numba keeps np.float32 globals as float32, so the arithmetic stays float32)
_F = np.float32
_LOG2E_F, _LN2_HI_F, _LN2_LO_F = _F(1.4426950408889634), _F(0.693145751953125), _F(1.428606765330187e-06)
F1, F2, F3, F4, F5, F6, F7, F8 = (_F(c) for c in _C[1:9])
_HALF_F, _ONE_F, _TWO_F, _YMAX_F = _F(0.5), _F(1.0), _F(2.0), _F(104.0)


@jit(inline="always")
def _expm1_exp_neg_f64(y):
    """(expm1(-y), exp(-y)) for float64 y >= 0."""
    y = min(y, 746.0)                                   # exp(-746) is 0 in float64 anyway
    k = np.int64(y * _LOG2E + 0.5)                      # nearest integer to y / ln2
    u = (k * _LN2_HI - y) + k * _LN2_LO                 # -r, |u| <= ln2 / 2
    q = u * (1.0 + u * (0.5 + u * (C3 + u * (C4 + u * (C5 + u * (C6 + u * (C7 + u * (
        C8 + u * (C9 + u * (C10 + u * (C11 + u * (C12 + u * (C13 + u * C14)))))))))))))  # expm1(u)
    half = k >> 1
    s = _pow2_f64(-half) * _pow2_f64(half - k)  # type: ignore[call-arg,var-annotated]  # 2^-k as two normal factors (k <= 1076)
    return s * q + (s - 1.0), s * q + s


@jit(inline="always")
def _expm1_exp_neg_f32(y):
    """(expm1(-y), exp(-y)) for float32 y >= 0."""
    y = min(y, _YMAX_F)                                 # exp(-104) is 0 in float32 anyway
    k = np.int32(y * _LOG2E_F + _HALF_F)                # nearest integer to y / ln2
    kf = _F(k)
    u = (kf * _LN2_HI_F - y) + kf * _LN2_LO_F           # -r, |u| <= ln2 / 2
    q = u * (F1 + u * (F2 + u * (F3 + u * (F4 + u * (F5 + u * (F6 + u * (F7 + u * F8)))))))  # expm1(u)
    half = k >> 1
    s = _pow2_f32(-half) * _pow2_f32(half - k)  # type: ignore[call-arg,var-annotated]  # 2^-k as two normal factors (k <= 151)
    return s * q + (s - _ONE_F), s * q + s


def tanh_(z):
    """z[:] = tanh(z) in place, for a 1-D float32 or float64 array (Numba only)."""


def sigmoid_(z):
    """z[:] = sigmoid(z) in place, for a 1-D float32 or float64 array (Numba only)."""


@overload(tanh_, jit_options=FLAGS)  # type: ignore[arg-type]  # numba types its options as a TypedDict
def _tanh_impl(z):
    expm1_exp_neg = _expm1_exp_neg_f32 if z.dtype == types.float32 else _expm1_exp_neg_f64

    def impl(z):
        two = z.dtype.type(2)
        for j in range(z.size):
            v = z[j]
            m, _ = expm1_exp_neg(two * abs(v))
            z[j] = math.copysign(-m / (two + m), v)      # |tanh(v)| with the sign of v
    return impl


@overload(sigmoid_, jit_options=FLAGS)  # type: ignore[arg-type]
def _sigmoid_impl(z):
    expm1_exp_neg = _expm1_exp_neg_f32 if z.dtype == types.float32 else _expm1_exp_neg_f64

    def impl(z):
        one = z.dtype.type(1)
        for j in range(z.size):
            v = z[j]
            _, e = expm1_exp_neg(abs(v))
            s = one / (one + e)
            z[j] = s if v >= 0 else e * s
    return impl
