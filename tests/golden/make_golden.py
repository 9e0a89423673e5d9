"""Writes the golden archives of format 1.0. Run once per format version, never to "fix" a test:
the committed files are what old graphtorch releases wrote, and must keep loading forever.

    python -m tests.golden.make_golden
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import graphtorch as gt
from graphtorch.archive import save
from tests.serialization.models import scripted_cell, traced_mlp

HERE = Path(__file__).resolve().parent


def main() -> None:
    gt.manual_seed(123)
    x, h = gt.randn(3, 4), gt.randn(3, 4)
    mlp = traced_mlp(seed=1)
    mlp._set_constant("note", "golden 1.0")
    save(mlp, HERE / "mlp_traced_v1_0.gt")
    np.savez(HERE / "mlp_traced_v1_0.npz", x=x.numpy(), output=mlp(x).detach().numpy())
    cell = scripted_cell(seed=2)
    save(cell, HERE / "cell_scripted_v1_0.gt")
    np.savez(HERE / "cell_scripted_v1_0.npz", x=x.numpy(), h=h.numpy(),
             output=cell(x, h).detach().numpy())


if __name__ == "__main__":
    main()
