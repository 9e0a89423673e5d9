"""``graphtorch.jit.save`` / ``graphtorch.jit.load``: the .gt archive (docs/format.md).

The implementation lives in :mod:`graphtorch.archive`; this module is the stable entry point.
"""

from __future__ import annotations

from graphtorch.archive import FORMAT_VERSION, load, save

__all__ = ["FORMAT_VERSION", "load", "save"]
