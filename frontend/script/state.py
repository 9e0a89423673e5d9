"""The state of one function being compiled, and the base of the collaborators that lower it.

The script compiler is a set of collaborating objects, one per concern, that share exactly one
thing: the :class:`FunctionState` of the function being compiled. It is the only mutable state
(the graph and its insertion point, the variable environment, the loop depth, the declared
return type, the named-tuple fields of values ...); no collaborator keeps per-function state of
its own, so a reader finds every variable the lowering reads or writes here.

Each collaborator (a :class:`Lowerer`) receives the state and :class:`Parts`, the table of its
fellow collaborators, in its constructor. It reaches another concern only through that
collaborator's public methods (``self.exprs.coerce(...)``, ``self.calls.call_op(...)``); its
own helpers are private (``_name``). Why a table rather than constructor arguments: the concerns
are mutually recursive (an expression holds a call whose argument is a comprehension, which is a
loop over statements holding expressions), so the objects are built first and then find each
other through ``Parts`` by name.

The collaborators (module: class, attribute name on every Lowerer):

- statements.py: StatementLowerer (``stmts``): assignments, if, assert, del, import, refinement;
- exits.py: ExitLowerer (``exits``): return/break/continue/raise, statement lists, path merges;
- loops.py: LoopLowerer (``loops``): while/for -> prim::Loop, unrolled loops, ``if_value``;
- with_stmt.py: WithLowerer (``withs``): ``with`` statements;
- expressions.py: ExpressionLowerer (``exprs``): expressions -> values, conditions, coercion;
- calls.py: CallResolver (``calls``): calls of ops, methods, Python objects, comprehensions;
- builtin_calls.py: BuiltinCalls (``builtin_calls``): builtins and list/dict/str methods;
- language.py: LanguageCalls (``language``): graphtorch.jit language functions;
- library_calls.py: LibraryCallLowerer (``library``): library functions compiled from source;
- modules.py: ModuleLowerer (``modules``): submodules, attributes, containers, super();
- indexing.py: IndexLowerer (``indexing``): tensor/tuple/str indexing and slicing;
- inplace.py: InplaceLowerer (``inplace``): in-place methods and augmented assignment;
- tensor_literals.py: TensorLiteralLowerer (``literals``): tensor(...) of literals;
- classes.py: ClassLowerer (``classes``): objects of script classes (user classes).

Statements and expressions are dispatched by syntax class name to the handler methods
``stmt_<Class>`` / ``expr_<Class>`` of whichever collaborator owns that syntax
(:meth:`Parts.finish` collects them).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import resolve
from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph, Value
from graphtorch.ir.source import SourceLoc

if TYPE_CHECKING:   # the collaborators import this module
    from graphtorch.frontend.script.builtin_calls import BuiltinCalls
    from graphtorch.frontend.script.calls import CallResolver
    from graphtorch.frontend.script.classes import ClassLowerer
    from graphtorch.frontend.script.exits import ExitLowerer
    from graphtorch.frontend.script.expressions import ExpressionLowerer
    from graphtorch.frontend.script.indexing import IndexLowerer
    from graphtorch.frontend.script.inplace import InplaceLowerer
    from graphtorch.frontend.script.language import LanguageCalls
    from graphtorch.frontend.script.library_calls import LibraryCallLowerer
    from graphtorch.frontend.script.loops import LoopLowerer
    from graphtorch.frontend.script.modules import ModuleLowerer
    from graphtorch.frontend.script.statements import StatementLowerer
    from graphtorch.frontend.script.tensor_literals import TensorLiteralLowerer
    from graphtorch.frontend.script.with_stmt import WithLowerer


class FunctionState:
    """Everything that changes while one function is compiled.

    ``env`` maps a Python name to what it holds: an SSA ``Value``, or a compile-time object
    (``ModuleRef``, ``PyObj``, ``Undefined`` ...); branches copy it and merge the copies. The
    names starting with ``$`` are the exit flags of exits.py."""

    def __init__(self, unit, src, fn: S.FunctionDef, py_fn, graph: Graph, self_module=None,
                 qualname: str = "", param_types: dict | None = None,
                 self_class: type | None = None, bound_class: bool = False) -> None:
        self.unit = unit               # the ScriptUnit: compiled functions/modules, type names
        self.src = src                 # the Source: file, lines and ScriptError with a caret
        self.fn = fn                   # the FunctionDef being compiled
        self.py_fn = py_fn             # the Python function: globals, closure, defaults
        self.graph = graph             # the graph built (its insertion point moves)
        self.self_module = self_module  # the module of a method, else None
        self.self_class = self_class    # the script class of a method (classes.py), else None
        self.bound_class = bound_class  # a classmethod: its first parameter is self_class
        self.qualname = qualname or fn.name
        self.env: dict[str, object] = {}
        self.loop_depth = 0
        self.unrolled: list[bool] = []  # per enclosing loop (innermost last): unrolled?
        self.return_type: T.Type | None = None
        self.arg_names: list[str] = []
        self.static_lens: set = set()   # len(<module container>) values: their ranges unroll
        self.tuple_fields: dict = {}    # named-tuple results of ops (values, indices) -> names
        self.param_types: dict = dict(param_types or {})   # unannotated parameters' types
        self.expr_depth = 0             # nesting of the expression being compiled
        self.fork_types: dict = {}      # the result types of the futures fork() returned
        self.stay_types: dict = {}      # merged value -> its type on the paths that did not leave

    def lookup_global(self, name: str):
        """What ``name`` means in the function's closure, module globals or builtins."""
        fn = self.py_fn
        closure = getattr(fn, "__closure__", None)
        if closure:
            for cname, cell in zip(fn.__code__.co_freevars, closure):
                if cname == name:
                    try:
                        return cell.cell_contents
                    except ValueError:
                        break
        g = getattr(fn, "__globals__", {})
        if name in g:
            return g[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise KeyError(name)

    def lookup_global_or_none(self, name: str):
        try:
            return self.lookup_global(name)
        except KeyError:
            return None

    def ann_type(self, e: S.Expr) -> T.Type:
        """The type an annotation expression names."""
        return resolve(e, self.lookup_global, self.src)

    def loc(self, pos) -> SourceLoc | None:
        if pos is None:
            return None
        return SourceLoc(self.src.filename, self.src.file_line(pos), pos.column + self.src.indent)


class Parts:
    """The collaborators of one compilation, by name (see the module docstring)."""

    stmts: StatementLowerer
    exits: ExitLowerer
    loops: LoopLowerer
    withs: WithLowerer
    exprs: ExpressionLowerer
    calls: CallResolver
    builtin_calls: BuiltinCalls
    language: LanguageCalls
    library: LibraryCallLowerer
    modules: ModuleLowerer
    indexing: IndexLowerer
    inplace: InplaceLowerer
    literals: TensorLiteralLowerer
    classes: ClassLowerer

    def __init__(self) -> None:
        self.stmt_handlers: dict = {}
        self.expr_handlers: dict = {}

    def finish(self) -> None:
        """Collect the ``stmt_<Class>`` / ``expr_<Class>`` handlers of every collaborator."""
        for part in vars(self).values():
            if isinstance(part, Lowerer):
                for prefix, table in (("stmt_", self.stmt_handlers),
                                      ("expr_", self.expr_handlers)):
                    for name in _handler_names(type(part), prefix):
                        table[name[len(prefix):]] = getattr(part, name)


_HANDLER_NAMES: dict = {}


def _handler_names(cls: type, prefix: str) -> list[str]:
    key = (cls, prefix)
    names = _HANDLER_NAMES.get(key)
    if names is None:
        names = _HANDLER_NAMES[key] = [n for n in dir(cls) if n.startswith(prefix)]
    return names


class Lowerer:
    """The base of the collaborators: the shared :class:`FunctionState`, the fellow
    collaborators by name, and the few emit helpers every lowering uses."""

    def __init__(self, state: FunctionState, parts: Parts) -> None:
        self.state = state
        self.parts = parts
        self.graph = state.graph    # fixed for the function (its insertion point moves)
        self.src = state.src

    @property
    def env(self) -> dict:
        return self.state.env

    @env.setter
    def env(self, value: dict) -> None:
        self.state.env = value

    def loc(self, pos) -> SourceLoc | None:
        return self.state.loc(pos)

    def const(self, value, type: T.Type | None = None) -> Value:
        return self.graph.constant(value, type)

    def scalar(self, kind: str, inputs: list[Value], out: T.Type | None) -> Value | None:
        # NOTE: in-place kinds still get a None output: the interpreter binds one result per node.
        node = self.graph.emit(kind, inputs, [out if out is not None else T.NONE])
        return node.output if out is not None else None

    # --- the collaborators ------------------------------------------------------------------------
    @property
    def stmts(self) -> StatementLowerer:
        return self.parts.stmts

    @property
    def exits(self) -> ExitLowerer:
        return self.parts.exits

    @property
    def loops(self) -> LoopLowerer:
        return self.parts.loops

    @property
    def withs(self) -> WithLowerer:
        return self.parts.withs

    @property
    def exprs(self) -> ExpressionLowerer:
        return self.parts.exprs

    @property
    def calls(self) -> CallResolver:
        return self.parts.calls

    @property
    def builtin_calls(self) -> BuiltinCalls:
        return self.parts.builtin_calls

    @property
    def language(self) -> LanguageCalls:
        return self.parts.language

    @property
    def library(self) -> LibraryCallLowerer:
        return self.parts.library

    @property
    def modules(self) -> ModuleLowerer:
        return self.parts.modules

    @property
    def indexing(self) -> IndexLowerer:
        return self.parts.indexing

    @property
    def inplace(self) -> InplaceLowerer:
        return self.parts.inplace

    @property
    def literals(self) -> TensorLiteralLowerer:
        return self.parts.literals

    @property
    def classes(self) -> ClassLowerer:
        return self.parts.classes
