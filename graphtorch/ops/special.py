"""Special functions numpy lacks (erf), written against ``xp``."""

from __future__ import annotations

import math

import numpy as np

_ERFC_COEFFS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
                -1.13520398, 1.48851587, -0.82215223, 0.17087277)

_erf_exact = np.frompyfunc(math.erf, 1, 1)


def erf_array(xp, x):
    """erf elementwise: exact (libm) in float64, a 1.2e-7-accurate rational form otherwise.

    NOTE: the rational form (Numerical Recipes' erfcc) is below float32 resolution, so float32
    and float16 results match PyTorch's to rounding; float64 goes through libm's erf.
    """
    if x.dtype == np.float64 and xp is np:
        return np.asarray(_erf_exact(x), dtype=np.float64)
    z = xp.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = xp.zeros_like(z) + _ERFC_COEFFS[-1]
    for c in reversed(_ERFC_COEFFS[:-1]):
        poly = poly * t + c
    erfc = t * xp.exp(-z * z + poly)
    return (xp.sign(x) * (1.0 - erfc)).astype(x.dtype)
