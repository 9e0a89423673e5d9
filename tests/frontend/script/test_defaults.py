"""Scripted functions and methods keep their argument defaults, also through save/load."""

import numpy as np

import graphtorch as gt


@gt.jit.script
def scaled(x, k: float = 0.5, n: int = 2):
    for _ in range(n):
        x = x * k
    return x


class Scale(gt.nn.Module):
    def forward(self, x, scale: float = 3.0):
        return x * scale


def test_function_defaults(tmp_path):
    x = gt.ones(2)
    np.testing.assert_allclose(scaled(x).numpy(), [0.25, 0.25])
    np.testing.assert_allclose(scaled(x, n=1).numpy(), [0.5, 0.5])
    path = tmp_path / "f.gt"
    gt.jit.save(scaled, str(path))
    np.testing.assert_allclose(gt.jit.load(str(path))(x).numpy(), [0.25, 0.25])


def test_method_defaults(tmp_path):
    m = gt.jit.script(Scale())
    x = gt.ones(2)
    np.testing.assert_allclose(m(x).numpy(), [3.0, 3.0])
    np.testing.assert_allclose(m(x, 2.0).numpy(), [2.0, 2.0])
    path = tmp_path / "m.gt"
    gt.jit.save(m, str(path))
    np.testing.assert_allclose(gt.jit.load(str(path))(x).numpy(), [3.0, 3.0])
