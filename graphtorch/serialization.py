"""``graphtorch.serialization`` (``torch.serialization``): ``save`` / ``load`` of any object and
the ``weights_only`` allow-list.

``save`` / ``load`` are ``graphtorch.save`` / ``graphtorch.load`` (:mod:`graphtorch.checkpoint`,
pickled parts in :mod:`graphtorch.serialization_pickle`). Compiled modules go to the pickle-free
``.gt`` archive through ``graphtorch.jit.save`` / ``graphtorch.jit.load``
(:mod:`graphtorch.archive`, docs/format.md).
"""

from __future__ import annotations

from graphtorch.checkpoint import get_unsafe_globals_in_checkpoint, load, save
from graphtorch.serialization_pickle import (
    DEFAULT_PROTOCOL,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)

__all__ = ["DEFAULT_PROTOCOL", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "get_unsafe_globals_in_checkpoint", "load", "safe_globals", "save"]
