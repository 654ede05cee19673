r"""What a comparison of two success counts can and cannot separate: the exact power of Fisher's
test, and the smallest difference it detects.

A two-sided Fisher exact test at level alpha compares k1 successes of n1 runs with k2 of n2. Its
rejection region R = {(k1, k2): p(k1, k2) <= alpha} depends on n1, n2 and alpha alone, so its power
against true success rates p1 and p2 is exact, a finite sum::

    power(p1, p2) = sum_{(k1, k2) in R} Binom(k1; n1, p1) Binom(k2; n2, p2)

A test that does not reject says nothing about differences it could not have seen. The smallest
detectable difference at power 0.8 is the smallest d > 0 such that power(p_ref + d, p_ref) >= 0.8
(upwards; downwards with p_ref - d), taking the reference's observed rate as its true rate. With 10
runs a side against a reference at 10/10 a model must be below about 0.45 to be seen, which is why a
p of 0.2 at n = 10 is no evidence of equal rates.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

ALPHA = 0.05         # two-sided level of every test in the study
POWER = 0.8          # the power at which a difference counts as detectable


@lru_cache(maxsize=None)
def rejection_region(n1: int, n2: int, alpha: float = ALPHA) -> np.ndarray:
    """(n1 + 1, n2 + 1) booleans: True where Fisher's two-sided test of k1/n1 against k2/n2 rejects at alpha."""
    from scipy.stats import fisher_exact
    for name, n in (("n1", n1), ("n2", n2)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {n!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    region = np.zeros((n1 + 1, n2 + 1), dtype=bool)
    for k1 in range(n1 + 1):
        for k2 in range(n2 + 1):
            p = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
            region[k1, k2] = p <= alpha * (1 + 1e-9)             # scipy's p of a boundary table, to rounding
    region.flags.writeable = False
    return region


def fisher_power(p1: float, n1: int, p2: float, n2: int, alpha: float = ALPHA) -> float:
    """The probability that Fisher's two-sided test rejects at `alpha` when n1 runs succeed with
    probability p1 and n2 runs with p2 (exact)."""
    from scipy.stats import binom
    for name, p in (("p1", p1), ("p2", p2)):
        if not 0 <= p <= 1:
            raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
    a = binom.pmf(np.arange(n1 + 1), n1, p1)
    b = binom.pmf(np.arange(n2 + 1), n2, p2)
    return float(a @ rejection_region(n1, n2, alpha) @ b)


def detectable_difference(p_ref: float, n: int, n_ref: int, direction: int = 1, alpha: float = ALPHA,
                          power: float = POWER, step: float = 0.001) -> float | None:
    """The smallest d (to `step`) such that a model at p_ref + direction * d, run n times, is told apart
    from a reference at p_ref, run n_ref times, with probability `power`; None when no rate in [0, 1]
    that way is (e.g. upwards from p_ref = 1)."""
    from scipy.stats import binom
    if direction not in (1, -1):
        raise ValueError(f"direction: expected 1 (a higher rate) or -1 (a lower one), got {direction!r}")
    if not 0 <= p_ref <= 1:
        raise ValueError(f"p_ref: expected a probability in [0, 1], got {p_ref!r}")
    d = np.arange(1, int(round(1 / step)) + 1) * step              # every candidate difference, ascending
    p = p_ref + direction * d
    d, p = d[(p >= 0) & (p <= 1 + 1e-12)], np.clip(p[(p >= 0) & (p <= 1 + 1e-12)], 0, 1)
    if not len(d):
        return None
    a = binom.pmf(np.arange(n + 1)[:, None], n, p[None, :])        # (n + 1, candidates)
    b = binom.pmf(np.arange(n_ref + 1), n_ref, p_ref)              # (n_ref + 1,)
    powers = np.einsum("ig,ij,j->g", a, rejection_region(n, n_ref, alpha), b)
    hit = np.flatnonzero(powers >= power)
    return float(round(d[hit[0]], 6)) if len(hit) else None


@lru_cache(maxsize=None)
def detectable(k_ref: int, n_ref: int, n: int, alpha: float = ALPHA, power: float = POWER) -> dict:
    """{"up", "down"}: the smallest increase and decrease over the reference's observed rate k_ref/n_ref
    that a comparison with n runs detects at `power` (None where none can be)."""
    p_ref = k_ref / n_ref
    return {"up": detectable_difference(p_ref, n, n_ref, 1, alpha, power),
            "down": detectable_difference(p_ref, n, n_ref, -1, alpha, power)}


def detectable_text(up: float | None, down: float | None) -> str:
    """"+0.28/-0.38": the smallest detectable increase and decrease ("none" where none can be)."""
    return f"{'none' if up is None else f'+{up:.2f}'}/{'none' if down is None else f'-{down:.2f}'}"


def describe_null(k: int, n: int, k_ref: int, n_ref: int, p: float) -> str:
    """A comparison that did not reject, said as what it is: "not separated with n seeds per cell",
    with its p and the smallest difference it could have detected."""
    d = detectable(k_ref, n_ref, n)
    parts = [f"+{d['up']:.2f}" if d["up"] is not None else None, f"-{d['down']:.2f}" if d["down"] is not None else None]
    seen = " or ".join(x for x in parts if x) or "no difference at all"
    return (f"{k}/{n} vs {k_ref}/{n_ref}: not separated with {n} and {n_ref} seeds (p = {p:.2g}); at this n the test "
            f"detects (power {POWER:g}) only a rate {seen} from {k_ref / n_ref:.2f}")
