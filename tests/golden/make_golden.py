"""Writes the golden archives of the current format version. Run once per format version, never
to "fix" a test: the committed files are what old graphtorch releases wrote, and must keep
loading forever. Files of older versions are never rewritten (this writer can no longer produce
them): ``*_v1_0`` came from graphtorch 0.1.0 at format 1.0, ``*_v1_1`` from format 1.1.

    python -m tests.golden.make_golden
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import graphtorch as gt
from graphtorch.archive import FORMAT_VERSION, save
from tests.serialization.models import scripted_defaults

HERE = Path(__file__).resolve().parent


def write_v1_1() -> None:
    """Format 1.1 added argument defaults: a module whose call relies on them."""
    gt.manual_seed(321)
    x = gt.randn(3, 4)
    m = scripted_defaults(seed=3)
    save(m, HERE / "defaults_scripted_v1_1.gt")
    np.savez(HERE / "defaults_scripted_v1_1.npz", x=x.numpy(), output=m(x).detach().numpy())


def main() -> None:
    assert FORMAT_VERSION == "1.1", "add a writer for the new format version instead"
    write_v1_1()


if __name__ == "__main__":
    main()
