"""Custom differentiable operations: ``graphtorch.autograd.Function``."""

from __future__ import annotations

from graphtorch.autograd import grad_mode
from graphtorch.autograd.node import _FREED_MSG, function_node_class
from graphtorch.errors import AutogradError, GraphError


class FunctionCtx:
    """The ``ctx`` of a custom Function: save tensors and attributes for backward."""

    def __init__(self):
        self._saved = ()
        self._saved_versions = ()
        self.needs_input_grad: tuple = ()
        self.saved_tensors_released = False
        self._non_differentiable: set = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._saved_versions = tuple(t._vc[0] if t is not None else None for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self.saved_tensors_released:
            raise AutogradError(_FREED_MSG)
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and t._vc[0] != v:
                raise AutogradError(f"one of the variables needed for gradient computation has "
                                    f"been modified by an inplace operation: saved tensor {i} is "
                                    f"at version {t._vc[0]}; expected version {v} instead.")
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for API compatibility; in-place outputs are rebased like any output."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``.

    >>> class Square(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * g
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must define backward(ctx, ...)")

    @classmethod
    def apply(cls, *args, **kwargs):
        tracer = (_TRACE[0] or _trace_state()).tracer
        if tracer is not None and hasattr(tracer, "record_function"):
            return tracer.record_function(cls, args, kwargs)  # one graph node, see FunctionCall
        return apply_eager(cls, args, kwargs)


_TRACE: list = [None]     # graphtorch.ops.dispatch.TRACE, bound at the first apply


def _trace_state():
    # NOTE: graphtorch.ops.dispatch imports graphtorch.autograd: a module-level import cycles
    from graphtorch.ops.dispatch import TRACE

    _TRACE[0] = TRACE
    return TRACE


def apply_eager(cls, args: tuple, kwargs: dict):
    """Run ``cls.forward`` without recording and attach ``cls.backward`` when grad is needed."""
    from graphtorch.tensor import Tensor  # NOTE: graphtorch.tensor imports graphtorch.autograd

    ctx = FunctionCtx()
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    with grad_mode.no_grad():
        out = cls.forward(ctx, *args, **kwargs)
    needs = grad_mode.is_grad_enabled() and any(t.requires_grad for t in tensor_args)
    if not needs:
        return out
    outs = out if isinstance(out, tuple) else (out,)
    edges = tuple(a._edge() if isinstance(a, Tensor) and a.requires_grad else None
                  for a in args)
    dev = tensor_args[0].device
    node = function_node_class(f"{cls.__name__}Backward")(cls, ctx, edges, len(outs), dev)
    node.out_metas = tuple((o.shape, o.dtype) if isinstance(o, Tensor) else None
                           for o in outs)
    wrapped = []
    for i, o in enumerate(outs):
        if isinstance(o, Tensor) and id(o) not in ctx._non_differentiable \
                and o.dtype.is_floating_point:
            if o.grad_fn is not None or any(o is t for t in tensor_args):
                o = o.detach()
            o._rg, o.grad_fn, o._output_nr = True, node, i
        wrapped.append(o)
    return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]


class FunctionCall:
    """``cls.apply`` as the callable of a graph node (``prim::PythonOp``).

    jit.trace and jit.script record a custom Function as one node whose callable is a
    FunctionCall: running the graph calls ``cls.apply`` on eager tensors, so the user's
    ``backward`` is what autograd runs. ``fixed`` holds the arguments that are not graph values
    (a Python object a graph constant cannot hold, e.g. a callable), in call order, with
    :data:`SLOT` where the next node input goes. ``arity`` (script, which types the node from
    ``forward``'s annotation without running it): 0 when one tensor is declared, n for a tuple of
    n; a result of another shape raises instead of flowing on mistyped. Never serializable
    (archives hold no Python code).
    """

    def __init__(self, function: type, fixed: tuple | None = None, arity: int | None = None):
        self.autograd_function = function
        self.fixed = fixed
        self.arity = arity
        self.__qualname__ = f"{function.__qualname__}.apply"
        self.__module__ = function.__module__
        self.__name__ = "apply"

    def __call__(self, *args):
        if self.fixed is not None:
            it = iter(args)
            args = tuple(next(it) if slot is SLOT else slot for slot in self.fixed)
        out = self.autograd_function.apply(*args)
        if self.arity is not None:
            got = len(out) if isinstance(out, tuple) else 0
            if got != self.arity:
                want = "one tensor" if self.arity == 0 else f"a tuple of {self.arity}"
                what = f"a tuple of {got}" if isinstance(out, tuple) else type(out).__name__
                raise GraphError(f"{self.__module__}.{self.__qualname__} returned {what}, but "
                                 f"script typed its result as {want} from forward's return "
                                 f"annotation; annotate forward (-> Tuple[Tensor, Tensor] for "
                                 f"two outputs)")
        return out

    def __repr__(self) -> str:
        return f"<autograd.Function {self.__module__}.{self.autograd_function.__qualname__}>"


SLOT = object()     # a FunctionCall.fixed entry filled from the node's inputs


def once_differentiable(fn):
    """Accepted for API compatibility: graphtorch runs backward without recording by default."""
    return fn
