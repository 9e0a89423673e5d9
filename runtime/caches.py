"""What the runtime derives from the objects it runs, kept beside them, never on them.

Preparing a method, generating code for a graph and differentiating a graph are done once and
reused on every call. The results belong to the runtime, not to the IR or to the compiled module:
each :class:`RuntimeCache` maps an object (by identity, held weakly) to what the runtime built
from it, so an entry lives exactly as long as its object and a ``Graph`` or ``ScriptModule``
carries no cache field.

- :data:`PREPARED`: compiled module -> {method name: ``Prepared``} (runtime/executor.py).
  ``ScriptModule`` calls :func:`invalidate` when a method changes, or a constant attribute
  that is or becomes a tensor or an object (a plain number, str or list of those is read at
  run time, so assigning one, as scripted code does each call, keeps what was prepared).
- :data:`CODEGEN`: prepared graph -> its generated Tensor-level code (runtime/cpu_codegen.py).
- :data:`AUTODIFF`: prepared graph -> {(executor, input signature): forward/backward pair or the
  reason it declined} (runtime/autodiff_exec.py).
- :data:`FAST_CALLS`: the compiled functions holding a guarded call (runtime/call_guard.py, in
  their declared ``_fast_call`` field: the one place a call looks before anything else);
  :data:`FORWARD_CALLS`: compiled module -> its guarded forward. :func:`drop_fast_calls`
  clears them all when another executor is selected.
"""

from __future__ import annotations

import weakref


class RuntimeCache:
    """Object -> value, by identity, weakly held: the entry goes when its object is collected."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[int, tuple[weakref.ref, object]] = {}

    def get(self, obj, default=None):
        hit = self._entries.get(id(obj))
        if hit is None or hit[0]() is not obj:
            return default
        return hit[1]

    def put(self, obj, value):
        """Keep ``value`` for ``obj`` (replacing any earlier one); returns ``value``."""
        key = id(obj)
        entries = self._entries

        def _drop(ref, key=key):
            # NOTE: only this object's entry: a later object may already reuse the id
            hit = entries.get(key)
            if hit is not None and hit[0] is ref:
                del entries[key]

        entries[key] = (weakref.ref(obj, _drop), value)
        return value

    def invalidate(self, obj) -> None:
        """Forget what was built from ``obj``."""
        hit = self._entries.get(id(obj))
        if hit is not None and hit[0]() is obj:
            del self._entries[id(obj)]

    def clear(self) -> None:
        self._entries.clear()

    def __contains__(self, obj) -> bool:
        hit = self._entries.get(id(obj))
        return hit is not None and hit[0]() is obj

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<RuntimeCache {self.what}: {len(self._entries)} entries>"


PREPARED = RuntimeCache("prepared methods of compiled modules")
CODEGEN = RuntimeCache("generated code of prepared graphs")
AUTODIFF = RuntimeCache("autodiff specializations of prepared graphs")


FAST_CALLS: weakref.WeakSet = weakref.WeakSet()
FORWARD_CALLS = RuntimeCache("guarded forward calls of compiled modules")


def drop_fast_calls() -> None:
    """Another executor was selected: no guarded call stays (each function's next
    call takes the general path, which decides again)."""
    for fn in list(FAST_CALLS):
        fn._fast_call = None
    FAST_CALLS.clear()
    FORWARD_CALLS.clear()


def invalidate(module) -> None:
    """A compiled module's methods or constants changed: what was prepared from them is stale
    (the prepared graphs go, and with them their generated code and autodiff entries)."""
    PREPARED.invalidate(module)
    FORWARD_CALLS.invalidate(module)
