"""TensorBoard logging with PyTorch's ``torch.utils.tensorboard`` API (``SummaryWriter``).

Event files are written through the ``tensorboard`` package's own writer and protos, so
TensorBoard (and its EventAccumulator) reads them. Install the optional extra:
``pip install 'graphtorch[tensorboard]'``.
"""

from __future__ import annotations

try:
    import tensorboard  # noqa: F401 - the optional dependency, checked once with a clear message
except ImportError as e:   # pragma: no cover - exercised only without the extra
    raise ImportError("graphtorch.utils.tensorboard needs the 'tensorboard' package: "
                      "pip install 'graphtorch[tensorboard]'") from e

from graphtorch.utils.tensorboard.writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
