"""``graphtorch.futures``: :class:`Future` and helpers over several futures (PyTorch's
``torch.futures``); the futures ``graphtorch.jit.fork`` returns."""

from __future__ import annotations

from graphtorch.runtime.futures import Future, collect_all, wait_all

__all__ = ["Future", "collect_all", "wait_all"]
