"""One :class:`FunctionCompiler` per scripted function or method: it builds the function's
:class:`FunctionState` and its collaborators (state.py tells which does what), binds the
parameters, compiles the body and the result.

Early exits (return/break/continue/raise) are lowered by one structured transformation: see
exits.py.
"""

from __future__ import annotations

from graphtorch.errors import ScriptError
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import annotation_broadcast, signature_types
from graphtorch.frontend.script.builtin_calls import BuiltinCalls
from graphtorch.frontend.script.calls import CallResolver
from graphtorch.frontend.script.classes import ClassLowerer
from graphtorch.frontend.script.defaults import parameter_defaults
from graphtorch.frontend.script.exits import RET, RV, ExitLowerer
from graphtorch.frontend.script.expressions import ExpressionLowerer
from graphtorch.frontend.script.indexing import IndexLowerer
from graphtorch.frontend.script.inplace import InplaceLowerer
from graphtorch.frontend.script.language import LanguageCalls
from graphtorch.frontend.script.library_calls import LibraryCallLowerer
from graphtorch.frontend.script.loops import LoopLowerer
from graphtorch.frontend.script.modules import ModuleLowerer
from graphtorch.frontend.script.named_tuples import result_builder
from graphtorch.frontend.script.state import FunctionState, Parts
from graphtorch.frontend.script.statements import StatementLowerer
from graphtorch.frontend.script.tensor_literals import TensorLiteralLowerer
from graphtorch.frontend.script.values import ModuleRef, PyObj
from graphtorch.frontend.script.with_stmt import WithLowerer
from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph, Value
from graphtorch.ir.kinds import Prim


class FunctionCompiler:
    """Compiles one FunctionDef into ``graph`` (self-module methods get ``self`` as input 0)."""

    def __init__(self, unit, src, fn: S.FunctionDef, py_fn, graph: Graph,
                 self_module=None, qualname: str = "", param_types: dict | None = None,
                 self_class: type | None = None, bound_class: bool = False):
        self.state = state = FunctionState(unit, src, fn, py_fn, graph, self_module, qualname,
                                           param_types, self_class, bound_class)
        self.parts = parts = Parts()
        parts.stmts = StatementLowerer(state, parts)
        parts.exits = ExitLowerer(state, parts)
        parts.loops = LoopLowerer(state, parts)
        parts.withs = WithLowerer(state, parts)
        parts.exprs = ExpressionLowerer(state, parts)
        parts.calls = CallResolver(state, parts)
        parts.builtin_calls = BuiltinCalls(state, parts)
        parts.language = LanguageCalls(state, parts)
        parts.library = LibraryCallLowerer(state, parts)
        parts.modules = ModuleLowerer(state, parts)
        parts.indexing = IndexLowerer(state, parts)
        parts.inplace = InplaceLowerer(state, parts)
        parts.literals = TensorLiteralLowerer(state, parts)
        parts.classes = ClassLowerer(state, parts)
        parts.finish()

    @property
    def arg_names(self) -> list[str]:
        """The names of the parameters, in order (``self`` left out)."""
        return self.state.arg_names

    def _annotated_type(self, p) -> T.Type:
        """A parameter's annotation; a graphtorch library function compiled for one call
        (``param_types``) takes the argument's type where its annotation is outside script's
        types (``Sequence[Tensor] | Tensor``)."""
        try:
            return self.state.ann_type(p.annotation)
        except ScriptError:
            if p.name in self.state.param_types:
                return self.state.param_types[p.name]
            raise

    # --- entry ------------------------------------------------------------------------------------
    def compile(self) -> Graph:
        st, parts = self.state, self.parts
        g, fn, py_fn = st.graph, st.fn, st.py_fn
        params = list(fn.params)
        if st.self_module is not None:
            if not params:
                raise st.src.error(f"method {fn.name} has no 'self' parameter", fn.pos)
            sv = g.add_input("self", st.unit.module_type(st.self_module))
            st.env[params[0].name] = ModuleRef(sv, st.self_module)
            params = params[1:]
        elif st.bound_class:   # a classmethod: `cls` is the class, known while compiling
            if not params:
                raise st.src.error(f"classmethod {fn.name} has no 'cls' parameter", fn.pos)
            st.env[params[0].name] = PyObj(st.self_class)
            params = params[1:]
        broadcasts: dict[str, int] = {}   # BroadcastingListN parameters: name -> N
        sig, sig_ret = signature_types(st.src, fn, py_fn, st.lookup_global,
                                       st.self_module is not None or st.self_class is not None,
                                       broadcasts)
        devices = []    # device parameters: a str argument is converted (as TorchScript)
        for p in params:
            if p.name in sig:   # evaluated __annotations__ or a '# type:' signature comment
                t = sig[p.name]
            elif p.annotation is not None:
                t = self._annotated_type(p)
                if (n := annotation_broadcast(p.annotation, st.lookup_global)) is not None:
                    broadcasts[p.name] = n
            elif p.name in st.param_types:
                t = st.param_types[p.name]
            elif p.default is not None and isinstance(p.default, S.Constant) \
                    and p.default.value is not None:
                t = T.type_of_value(p.default.value)
            else:
                t = T.TENSOR
            st.env[p.name] = g.add_input(p.name, t)
            st.arg_names.append(p.name)
            if t in (T.DEVICE, T.optional(T.DEVICE)):
                devices.append(p.name)
        if sig_ret is not None:
            st.return_type = sig_ret
        elif fn.returns is not None:
            st.return_type = st.ann_type(fn.returns)
        with g.insert_point(g.block):
            for name in devices:
                v = st.env[name]
                st.env[name] = g.emit("prim::as_device", [v], [v.type]).output
            for name, n in broadcasts.items():   # an E or a tuple of E: a list of N
                v = st.env[name]
                lst = _broadcast_result(v.type)
                floats = (lst.elem if isinstance(lst, T.OptionalType) else lst).elem == T.FLOAT
                st.env[name] = g.emit("prim::broadcast_list", [v, parts.exprs.const(n),
                                                               parts.exprs.const(floats)],
                                      [lst]).output
            parts.exits.start_exits()
            parts.exits.block(fn.body)
            ret = self._final_return()
        g.set_outputs([ret])
        # NOTE: read by the caller of a scripted function (checked_outputs): NamedTuples rebuilt
        g.named_results = result_builder(ret.type)
        # NOTE: the executor fills arguments left out of a call from these
        g.defaults = {k: v for k, v in parameter_defaults(py_fn).items()
                      if k in st.arg_names}
        return g

    def _final_return(self) -> Value:
        """The function's result: what it returned; paths that fall off the end return None."""
        st, exits, exprs = self.state, self.parts.exits, self.parts.exprs
        rt, pos = st.return_type, st.fn.pos
        if exits.raised():   # every path raises
            return st.graph.emit(Prim.Uninitialized, [], [rt or T.NONE]).output
        returned = exits.flag(RET)
        if returned is None:    # as Python: the result becomes Optional[...]
            exits.block([S.Return(pos, None)])
        elif returned is False:
            none = st.graph.constant(None)
            return exprs.coerce(none, rt, pos, "the return value") if rt is not None else none
        ret = exprs.as_value(st.env[RV], pos)
        if rt is not None:
            ret = exprs.coerce(ret, rt, pos, "the return value")
        return ret


__all__ = ["FunctionCompiler", "PyObj"]


def _broadcast_result(t: T.Type) -> T.Type:
    """The List[E] (or Optional[List[E]]) a ``BroadcastingListN[E]`` parameter becomes."""
    members = t.elem.members if isinstance(t, T.OptionalType) else t.members
    lst = next(m for m in members if isinstance(m, T.ListType))
    return T.optional(lst) if isinstance(t, T.OptionalType) else lst
