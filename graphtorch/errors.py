"""The one exception hierarchy of graphtorch.

Every user-facing failure raises a subclass of :class:`GraphtorchError`. Where PyTorch raises a
builtin type (``RuntimeError`` for shape mismatches, ``TypeError`` for bad arguments), the matching
graphtorch error also derives from that builtin, so ``except RuntimeError`` code keeps working.
"""

from __future__ import annotations

import pickle


class GraphtorchError(Exception):
    """Base class of every graphtorch error."""


class ShapeError(GraphtorchError, RuntimeError):
    """Tensor shapes do not fit an operation (broadcasting, matmul, view ...)."""


class DTypeError(GraphtorchError, RuntimeError):
    """A dtype is not accepted by an operation, or a cast is not allowed."""


class DeviceError(GraphtorchError, RuntimeError):
    """Tensors live on different devices, or a device is not available."""


class ArgumentError(GraphtorchError, TypeError):
    """A call does not match an operator's schema (missing, extra or mistyped arguments)."""


class AutogradError(GraphtorchError, RuntimeError):
    """Backward cannot run: freed graph, modified saved tensor, no grad_fn ..."""


class GraphError(GraphtorchError, RuntimeError):
    """An IR graph is malformed; the message names the offending node."""


class IRParseError(GraphError):
    """IR text could not be parsed; carries line and column."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line, self.column = line, column
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(message + where)


class ScriptError(GraphtorchError, RuntimeError):
    """Python source cannot be compiled by ``graphtorch.jit.script``.

    The message shows file, line, the source line with a caret under the construct, and a hint.
    """

    def __init__(self, message: str, filename: str = "<unknown>", line: int | None = None,
                 column: int | None = None, source_line: str | None = None,
                 hint: str | None = None):
        self.msg, self.filename, self.line, self.column = message, filename, line, column
        self.source_line, self.hint = source_line, hint
        super().__init__(self._format())

    def _format(self) -> str:
        parts = [self.msg]
        if self.line is not None:
            parts.append(f'  File "{self.filename}", line {self.line}')
            if self.source_line is not None:
                parts.append("    " + self.source_line.rstrip())
                if self.column is not None:
                    parts.append("    " + " " * max(self.column - 1, 0) + "^")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class TracingError(GraphtorchError, RuntimeError):
    """Tracing failed or a traced graph does not reproduce the traced function."""


class FormatError(GraphtorchError, ValueError):
    """A saved archive is invalid; the message names the archive member and what is wrong."""

    def __init__(self, message: str, member: str | None = None):
        self.member = member
        super().__init__(f"{member}: {message}" if member else message)


class UnpicklingError(GraphtorchError, pickle.UnpicklingError):
    """``graphtorch.load(weights_only=True)`` met an object that is not allow-listed (PyTorch
    raises ``pickle.UnpicklingError``); the message names the global and how to allow it."""


class SaveError(GraphtorchError, OSError):
    """Writing a file failed (an archive by ``save``, an output of the CLI); an OSError with the
    errno of the cause and the target path as ``filename``; the target is left as it was."""


class UnsupportedError(GraphtorchError, NotImplementedError):
    """A feature PyTorch has that graphtorch does not support (yet); the message says which."""


class LinAlgError(GraphtorchError, RuntimeError):
    """A linear-algebra routine failed on its input (singular or not positive-definite matrix);
    ``graphtorch.linalg.LinAlgError``, like ``torch.linalg.LinAlgError``."""


class DistributedError(GraphtorchError, RuntimeError):
    """A collective or process group failed: not initialized, ranks disagree, a peer is gone."""


class DistributedTimeoutError(DistributedError, TimeoutError):
    """A collective did not complete within the process group's ``timeout``."""
