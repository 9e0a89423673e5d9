"""``number ** tensor`` differentiates with respect to the exponent (d/dx a**x = a**x log a)."""

import math

import numpy as np
import pytest

import graphtorch as gt


@pytest.mark.parametrize("base", [2, 0.5, 3.0])
def test_gradient_of_a_number_raised_to_a_tensor(base):
    x = gt.tensor([-1.0, 0.5, 2.0], dtype=gt.float64, requires_grad=True)
    (base ** x).sum().backward()
    want = base ** x.detach().numpy() * math.log(base)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
