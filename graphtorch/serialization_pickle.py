"""The pickled part of ``graphtorch.save`` files, and the ``weights_only`` allow-list.

``graphtorch.save`` stores tensors, numpy arrays and containers of them as data (see
:mod:`graphtorch.checkpoint`). Any other object — an ``nn.Module``, a user class — is pickled
(protocol 2, like ``torch.save``) into one ``uint8`` entry of the same safetensors file; the
tensors, arrays, dtypes and devices it holds are not pickled but referenced as data entries
(pickle persistent ids).

``graphtorch.load(weights_only=True)`` (the default, as in PyTorch >= 2.6) unpickles such an entry
with a restricted unpickler: ``find_class`` returns only globals on the allow-list (a few builtins
and ``collections`` types, plus what :func:`add_safe_globals` / :class:`safe_globals` add) and
imports nothing. ``weights_only=False`` is the explicit opt-in to ordinary unpickling, which can
run arbitrary code: only for files from a trusted source.
"""

from __future__ import annotations

import codecs
import collections
import io
import pickle
import pickletools
from collections.abc import Callable
from typing import Any

from graphtorch.errors import FormatError, UnpicklingError
from graphtorch.tensor import Size

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals", "safe_globals",
           "pickle_object", "unpickle_object", "unsafe_globals"]

DEFAULT_PROTOCOL = 2

SafeGlobal = Callable | tuple[Callable, str]

# what any weights_only load accepts (PyTorch's default allow-list, graphtorch's names)
_DEFAULT_GLOBALS: dict[str, Any] = {
    "collections.OrderedDict": collections.OrderedDict,
    "collections.Counter": collections.Counter,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "builtins.bytearray": bytearray,
    "builtins.complex": complex,
    "builtins.slice": slice,
    "_codecs.encode": codecs.encode,  # how protocol 2 writes bytes
    "graphtorch.tensor.Size": Size,
}

_user_globals: list[SafeGlobal] = []


def _full_path(entry: SafeGlobal) -> tuple[str, Any]:
    if isinstance(entry, tuple):
        if len(entry) != 2 or not isinstance(entry[1], str):
            raise TypeError(f"a safe global is a function/class or a (function/class, "
                            f"'module.name') pair, got {entry!r}")
        return entry[1], entry[0]
    return f"{entry.__module__}.{entry.__qualname__}", entry


def add_safe_globals(safe_globals: list[SafeGlobal]) -> None:
    """Allow ``weights_only`` loads to build these classes / call these functions.

    Each item is a class or function (named in the file as ``{__module__}.{__qualname__}``) or a
    ``(class_or_function, "module.name")`` pair naming it explicitly.
    """
    for entry in safe_globals:
        _full_path(entry)  # checks the form
    _user_globals.extend(safe_globals)


def clear_safe_globals() -> None:
    """Forget every global added by :func:`add_safe_globals`."""
    _user_globals.clear()


def get_safe_globals() -> list[SafeGlobal]:
    """The globals added by :func:`add_safe_globals` (not the built-in defaults)."""
    return list(_user_globals)


class safe_globals:  # noqa: N801 - the PyTorch name
    """Context manager: :func:`add_safe_globals` on entry, removed again on exit.

    >>> import collections, graphtorch
    >>> with graphtorch.serialization.safe_globals([collections.ChainMap]):
    ...     len(graphtorch.serialization.get_safe_globals())
    1
    >>> graphtorch.serialization.get_safe_globals()
    []
    """

    def __init__(self, safe_globals: list[SafeGlobal]):
        self.safe_globals = list(safe_globals)
        self._before: list[SafeGlobal] = []

    def __enter__(self) -> None:
        self._before = list(_user_globals)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc: object) -> None:
        _user_globals[:] = self._before


def _allowed() -> dict[str, Any]:
    allowed = dict(_DEFAULT_GLOBALS)
    for entry in _user_globals:
        path, obj = _full_path(entry)
        allowed[path] = obj
    return allowed


# --- pickling ----------------------------------------------------------------------------------
class _Pickler(pickle.Pickler):
    def __init__(self, buf: io.BytesIO, protocol: int, as_data: Callable[[Any], Any]):
        super().__init__(buf, protocol=protocol)
        self._as_data = as_data

    def persistent_id(self, obj: Any) -> Any:
        return self._as_data(obj)


def pickle_object(obj: Any, as_data: Callable[[Any], Any], protocol: int = DEFAULT_PROTOCOL
                  ) -> bytes:
    """Pickle ``obj``; ``as_data(x)`` returns a JSON-like reference for the tensors, arrays,
    dtypes and devices inside it (stored as data, not pickled), ``None`` for anything else."""
    buf = io.BytesIO()
    _Pickler(buf, protocol, as_data).dump(obj)
    return buf.getvalue()


# --- unpickling --------------------------------------------------------------------------------
class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, from_data: Callable[[Any], Any]):
        super().__init__(io.BytesIO(data))
        self._from_data = from_data

    def persistent_load(self, pid: Any) -> Any:
        return self._from_data(pid)


class _WeightsOnlyUnpickler(_Unpickler):
    def __init__(self, data: bytes, from_data: Callable[[Any], Any]):
        super().__init__(data, from_data)
        self._allowed = _allowed()

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # protocol 2 spells builtins this way
            module = "builtins"
        path = f"{module}.{name}"
        if path in self._allowed:
            return self._allowed[path]
        raise UnpicklingError(f"Unsupported global: GLOBAL {path} was not an allowed global by "
                              f"default. Please use `graphtorch.serialization.add_safe_globals("
                              f"[{path}])` or the `graphtorch.serialization.safe_globals([{path}])`"
                              " context manager to allowlist this global if you trust this "
                              "class/function.")


_UNSAFE = ("Re-running `graphtorch.load` with `weights_only` set to `False` will likely succeed, "
           "but it can result in arbitrary code execution. Do it only if you got the file from a "
           "trusted source.")


def _weights_only_message(reason: str, defaulted: bool) -> str:
    first = ("In graphtorch, as in PyTorch 2.6 and later, the default value of the "
             "`weights_only` argument of `graphtorch.load` is True. " if defaulted else "")
    return ("Weights only load failed. This file can still be loaded, to do so you have two "
            "options, do those steps only if you trust the source of the checkpoint.\n"
            f"\t(1) {first}{_UNSAFE}\n"
            "\t(2) Alternatively, to load with `weights_only=True` please check the recommended "
            f"steps in the following error message.\n\tWeightsUnpickler error: {reason}")


def unpickle_object(data: bytes, from_data: Callable[[Any], Any], weights_only: bool,
                    defaulted: bool, member: str) -> Any:
    """Unpickle one pickled entry; ``from_data(pid)`` resolves the data references."""
    if not weights_only:
        return _Unpickler(data, from_data).load()
    try:
        return _WeightsOnlyUnpickler(data, from_data).load()
    except UnpicklingError as e:
        raise UnpicklingError(_weights_only_message(str(e), defaulted)) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError,
            AttributeError, KeyError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"the pickled object cannot be read ({type(e).__name__}: {e})",
                          member=member) from None


def unsafe_globals(data: bytes) -> set[str]:
    """The globals a pickle names that a ``weights_only`` load would refuse, read from its
    opcodes (nothing is unpickled)."""
    allowed = _allowed()
    strings: list[str] = []
    found: set[str] = set()
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == "GLOBAL":
            module, name = str(arg).split(" ", 1)
        elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
            module, name = strings[-2], strings[-1]
        else:
            if isinstance(arg, str) and "UNICODE" in opcode.name:
                strings.append(arg)
            continue
        module = "builtins" if module == "__builtin__" else module
        if f"{module}.{name}" not in allowed:
            found.add(f"{module}.{name}")
    return found

