"""lark parse tree -> the typed AST of ``syntax``, rejecting everything outside the subset.

Each unsupported construct is refused here, at its own position, with a hint that says what to do
instead; the compiler after this point never sees Python it cannot handle syntactically.
"""

from __future__ import annotations

import ast as pyast

from lark import Token, Tree

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.parser import parse_expression
from graphtorch.frontend.script.source import Pos, SourceInfo

IGNORE_HINT = "move it into a function decorated with @graphtorch.jit.ignore"

# rule -> (what is refused, hint)
UNSUPPORTED = {
    "try_stmt": ("try/except is not supported in script", IGNORE_HINT),
    "try_finally": ("try/finally is not supported in script", IGNORE_HINT),
    "lambdef": ("lambda is not supported in script",
                "define a named function with def at module level and call it"),
    "lambdef_nocond": ("lambda is not supported in script",
                       "define a named function with def at module level and call it"),
    "global_stmt": ("global is not supported in script",
                    "pass the value as an argument, or make it a module attribute"),
    "nonlocal_stmt": ("nonlocal is not supported in script",
                      "pass the value as an argument and return the new value"),
    "yield_stmt": ("generators (yield) are not supported in script",
                   "build and return a list instead"),
    "yield_expr": ("generators (yield) are not supported in script",
                   "build and return a list instead"),
    "yield_from": ("generators (yield from) are not supported in script",
                   "build and return a list instead"),
    "async_stmt": ("async code is not supported in script", IGNORE_HINT),
    "async_funcdef": ("async functions are not supported in script", IGNORE_HINT),
    "await_expr": ("await is not supported in script", IGNORE_HINT),
    "classdef": ("class definitions inside a scripted function are not supported",
                 "define the class at module level"),
    "assign_expr": ("assignment expressions (:=) are not supported in script",
                    "assign the value in a separate statement first"),
    "set": ("set literals are not supported in script",
            "use a List, or a Dict whose values you ignore"),
    "set_comprehension": ("set comprehensions are not supported in script",
                          "use a list comprehension"),
    "import_stmt": ("import statements are not supported inside a scripted function",
                    "import at module level; the compiler resolves module-level names"),
    "match_stmt": ("match statements are not supported in script", "use if/elif/else"),
    "star_expr": ("starred expressions (*x) are not supported in script",
                  "unpack into a fixed number of names, or index the list"),
    "starargs": ("calls with *args are not supported in script",
                 "pass each argument explicitly"),
    "kwargs": ("calls with **kwargs are not supported in script",
               "pass each keyword argument explicitly"),
    "starparams": ("*args parameters are not supported in script",
                   "declare each parameter explicitly"),
    "kwparams": ("**kwargs parameters are not supported in script",
                 "declare each parameter explicitly"),
    "tuple_comprehension": ("generator expressions are not supported in script",
                            "use a list comprehension: [... for ... in ...]"),
}

_BINARY_RULES = {"or_expr": "|", "xor_expr": "^", "and_expr": "&"}
_CONSTS = {"const_none": None, "const_true": True, "const_false": False}


def pos_of(node, default: Pos | None = None) -> Pos:
    if isinstance(node, Token):
        return Pos(node.line or 1, node.column or 1)
    if isinstance(node, Tree) and not node.meta.empty:
        return Pos(node.meta.line, node.meta.column)
    if isinstance(node, Tree):
        for c in node.children:
            if c is not None:
                return pos_of(c, default)
    return default or Pos(1, 1)


class AstBuilder:
    """Converts one parsed source; ``src`` gives errors their file and line."""

    def __init__(self, src: SourceInfo):
        self.src = src

    def reject(self, node, what: str | None = None, hint: str | None = None):
        rule = node.data if isinstance(node, Tree) else None
        if what is None:
            what, hint = UNSUPPORTED.get(rule, (f"this construct ({rule}) is not supported in "
                                                "script", IGNORE_HINT))
        raise self.src.error(what, pos_of(node), hint)

    # --- top level --------------------------------------------------------------------------------
    def definitions(self, tree: Tree) -> list[S.Stmt]:
        """The top-level function or class definitions of a parsed source text."""
        out = []
        for child in tree.children:
            if child is None:
                continue
            if child.data == "decorated":
                decs = [self.decorator(d) for d in child.children[0].children]
                inner = child.children[1]
                if inner.data == "classdef":
                    out.append(self.classdef(inner))
                else:
                    fn = self.funcdef(inner)
                    fn.decorators = decs
                    out.append(fn)
            elif child.data == "classdef":
                out.append(self.classdef(child))
            elif child.data == "funcdef":
                out.append(self.funcdef(child))
            else:
                self.reject(child, "expected a function definition here",
                            "graphtorch.jit.script compiles functions, methods and modules")
        return out

    def import_stmt(self, t: Tree) -> S.Import:
        """Imports of graphtorch itself are resolved at compile time; others are rejected."""
        node = t.children[0]

        def dotted(d: Tree) -> str:
            return ".".join(self.name(n) for n in d.children)

        bindings = []
        if node.data == "import_from" and isinstance(node.children[0], Tree) and \
                node.children[0].data == "dotted_name" and len(node.children) == 2 and \
                isinstance(node.children[1], Tree) and node.children[1].data == "import_as_names":
            module = dotted(node.children[0])
            for item in node.children[1].children:
                attr = self.name(item.children[0])
                alias = item.children[1]
                bindings.append((self.name(alias) if alias is not None else attr, module, attr))
        elif node.data == "import_name":
            for item in node.children[0].children:
                module = dotted(item.children[0])
                alias = item.children[1]
                local = self.name(alias) if alias is not None else module.split(".")[0]
                target = module if alias is not None else module.split(".")[0]
                bindings.append((local, target, None))
        else:
            self.reject(t)
        if not all(m == "graphtorch" or m.startswith("graphtorch.") for _, m, _ in bindings):
            self.reject(t)
        return S.Import(pos_of(t), bindings)

    def decorator(self, d: Tree) -> S.Expr:
        names = [self.name(n) for n in d.children[0].children]
        e: S.Expr = S.Name(pos_of(d), names[0])
        for n in names[1:]:
            e = S.Attribute(pos_of(d), e, n)
        if len(d.children) > 1 and d.children[1] is not None:
            args, kws = self.arguments(d.children[1])
            e = S.Call(pos_of(d), e, args, kws)
        return e

    def classdef(self, t: Tree) -> S.ClassDef:
        body = []
        for st in self.suite_nodes(t.children[-1]):
            if isinstance(st, Tree) and st.data in ("funcdef", "decorated"):
                body.extend(self.definitions(Tree("file_input", [st])))
        return S.ClassDef(pos_of(t), self.name(t.children[0]), body)

    def funcdef(self, t: Tree) -> S.FunctionDef:
        name, params, returns, suite = t.children
        plist = self.parameters(params) if params is not None else []
        ret = self.expr(returns) if returns is not None else None
        return S.FunctionDef(pos_of(t), self.name(name), plist, ret, self.suite(suite))

    def parameters(self, t: Tree) -> list[S.Param]:
        out, kw_only = [], False
        for c in t.children:
            if c is None or isinstance(c, Token):   # SLASH: positional-only marker is harmless
                continue
            if c.data == "starparams":
                if c.children[0].data == "starparam":
                    self.reject(c)
                kw_only = True
                for p in c.children[1].children:
                    if p is None:
                        continue
                    if p.data == "kwparams":
                        self.reject(p)
                    out.append(self.param(p, True))
                continue
            if c.data == "kwparams":
                self.reject(c)
            out.append(self.param(c, kw_only))
        return out

    def param(self, t: Tree, kw_only: bool) -> S.Param:
        default = None
        if t.data == "paramvalue":
            t, default = t.children[0], self.expr(t.children[1])
        annotation = None
        if t.data == "typedparam":
            t, annotation = t.children[0], self.expr(t.children[1])
        return S.Param(pos_of(t), self.name(t), annotation, default, kw_only)

    @staticmethod
    def name(t) -> str:
        return str(t.children[0]) if isinstance(t, Tree) else str(t)

    # --- statements -------------------------------------------------------------------------------
    @staticmethod
    def suite_nodes(t: Tree) -> list:
        if t.data != "suite":
            return [t]
        out = []
        for c in t.children:
            if isinstance(c, Tree) and c.data == "simple_stmt":
                out.extend(x for x in c.children if x is not None)
            elif c is not None:
                out.append(c)
        return out

    def suite(self, t: Tree) -> list[S.Stmt]:
        body = []
        for st in self.suite_nodes(t):
            s = self.stmt(st)
            if s is not None:
                body.append(s)
        return body

    def stmt(self, t: Tree) -> S.Stmt | None:
        p = pos_of(t)
        rule = t.data
        if rule == "import_stmt":
            return self.import_stmt(t)
        if rule in UNSUPPORTED:
            self.reject(t)
        if rule == "simple_stmt":
            raise AssertionError("flattened by suite_nodes")
        if rule == "expr_stmt":
            value = self.expr(t.children[0])
            if isinstance(value, S.Constant) and isinstance(value.value, str):
                return None   # a docstring or a bare string comment
            return S.ExprStmt(p, value)
        if rule == "assign_stmt":
            return self.assign(t.children[0])
        if rule == "pass_stmt":
            return S.Pass(p)
        if rule == "del_stmt":
            e = self.target(t.children[0])
            return S.Delete(p, list(e.elts) if isinstance(e, (S.Tuple, S.List)) else [e])
        if rule == "break_stmt":
            return S.Break(p)
        if rule == "continue_stmt":
            return S.Continue(p)
        if rule == "return_stmt":
            v = t.children[0]
            return S.Return(p, self.expr(v) if v is not None else None)
        if rule == "raise_stmt":
            exc = t.children[0] if t.children else None
            return S.Raise(p, self.expr(exc) if exc is not None else None)
        if rule == "assert_stmt":
            msg = t.children[1] if len(t.children) > 1 else None
            return S.Assert(p, self.expr(t.children[0]),
                            self.expr(msg) if msg is not None else None)
        if rule == "if_stmt":
            return self.if_stmt(t)
        if rule == "while_stmt":
            test, body, orelse = t.children
            return S.While(p, self.expr(test), self.suite(body), self.else_suite(orelse))
        if rule == "with_stmt":
            return self.with_stmt(t)
        if rule == "for_stmt":
            target, it, body, orelse = t.children
            return S.For(p, self.target(target), self.expr(it), self.suite(body),
                         self.else_suite(orelse))
        if rule in ("funcdef", "decorated"):
            self.reject(t, "nested function definitions are not supported in script",
                        "define the function at module level and call it")
        return self.reject(t)

    def else_suite(self, suite) -> list[S.Stmt]:
        """A loop's ``else`` clause (empty when it has none)."""
        return self.suite(suite) if suite is not None else []

    def with_stmt(self, t: Tree) -> S.With:
        items, body = t.children
        exprs, targets = [], []
        for item in items.children:
            ctx, name = item.children
            exprs.append(self.expr(ctx))
            targets.append(self.target(name) if name is not None else None)
        return S.With(pos_of(t), exprs, self.suite(body), targets)

    def if_stmt(self, t: Tree) -> S.If:
        test, body, elifs, orelse = t.children
        tail = self.suite(orelse) if orelse is not None else []
        for e in reversed(elifs.children if elifs is not None else []):
            tail = [S.If(pos_of(e), self.expr(e.children[0]), self.suite(e.children[1]), tail)]
        return S.If(pos_of(t), self.expr(test), self.suite(body), tail)

    def assign(self, t: Tree) -> S.Stmt:
        p = pos_of(t)
        if t.data == "annassign":
            target, ann, value = t.children
            return S.AnnAssign(p, self.target(target), self.expr(ann),
                               self.expr(value) if value is not None else None)
        if t.data == "augassign":
            target, op, value = t.children
            return S.AugAssign(p, self.target(target), str(op.children[0])[:-1],
                               self.expr(value))
        *targets, value = t.children
        return S.Assign(p, [self.target(x, starred=True) for x in targets], self.expr(value))

    def target(self, t, starred: bool = False) -> S.Expr:
        """An assignment target; ``starred``: ``a, *b = ...`` may take one ``*name`` per
        tuple (plain assignments only)."""
        e = self.starred_target(t) if starred else self.expr(t)
        self.check_target(e)
        return e

    def starred_target(self, t) -> S.Expr:
        if isinstance(t, Tree) and t.data in ("tuple", "testlist_tuple", "exprlist", "list"):
            elts = []
            for c in t.children:
                if c is None:
                    continue
                if isinstance(c, Tree) and c.data == "star_expr":
                    elts.append(S.Starred(pos_of(c), self.starred_target(c.children[0])))
                else:
                    elts.append(self.starred_target(c))
            if sum(isinstance(x, S.Starred) for x in elts) > 1:
                raise self.src.error("multiple starred expressions in one assignment target",
                                     pos_of(t), "unpack into at most one *name per tuple")
            return (S.List if t.data == "list" else S.Tuple)(pos_of(t), elts)
        return self.expr(t)

    def check_target(self, e: S.Expr) -> None:
        if isinstance(e, (S.Tuple, S.List)):
            for x in e.elts:
                self.check_target(x.value if isinstance(x, S.Starred) else x)
        elif not isinstance(e, (S.Name, S.Attribute, S.Subscript)):
            raise self.src.error("cannot assign to this expression", e.pos,
                                 "assign to a name, an attribute, an element or a tuple of them")

    # --- expressions ------------------------------------------------------------------------------
    def expr(self, t) -> S.Expr:
        p = pos_of(t)
        if isinstance(t, Token):
            return S.Name(p, str(t))
        rule = t.data
        ch = t.children
        if rule in UNSUPPORTED:
            self.reject(t)
        if rule == "ellipsis":
            return S.Constant(p, Ellipsis)   # valid only in a tensor index (checked later)
        if rule == "var":
            return S.Name(p, self.name(ch[0]))
        if rule == "name":
            return S.Name(p, str(ch[0]))
        if rule in _CONSTS:
            return S.Constant(p, _CONSTS[rule])
        if rule == "number":
            return self.number(ch[0])
        if rule in ("string", "string_concat"):
            return self.string(t)
        if rule in ("tuple", "testlist_tuple", "exprlist", "subscript_tuple"):
            return S.Tuple(p, [self.expr(c) for c in ch if c is not None])
        if rule == "list":
            return S.List(p, [self.expr(c) for c in ch if c is not None])
        if rule == "dict":
            keys, values = [], []
            for kv in ch:
                if kv is None:
                    continue
                if not (isinstance(kv, Tree) and kv.data == "key_value"):
                    self.reject(kv, "**-unpacking in dict literals is not supported in script",
                                "build the dict with explicit keys, or use dict.update()")
                keys.append(self.expr(kv.children[0]))
                values.append(self.expr(kv.children[1]))
            return S.Dict(p, keys, values)
        if rule == "list_comprehension":
            elt, gens = self.comprehension(ch[0])
            return S.ListComp(p, self.expr(elt), gens)
        if rule == "dict_comprehension":
            kv, gens = self.comprehension(ch[0])
            return S.DictComp(p, self.expr(kv.children[0]), self.expr(kv.children[1]), gens)
        if rule == "getattr":
            return S.Attribute(p, self.expr(ch[0]), self.name(ch[1]))
        if rule == "getitem":
            return S.Subscript(p, self.expr(ch[0]), self.expr(ch[1]))
        if rule == "slice":
            lo, hi, step = ch
            if step is not None:
                step = step.children[0]
            return S.Slice(p, *(self.expr(x) if x is not None else None for x in (lo, hi, step)))
        if rule == "funccall":
            args, kws = self.arguments(ch[1]) if ch[1] is not None else ([], [])
            return S.Call(p, self.expr(ch[0]), args, kws)
        if rule == "test":
            body, cond, orelse = ch
            return S.IfExp(p, self.expr(cond), self.expr(body), self.expr(orelse))
        if rule in ("or_test", "and_test"):
            return S.BoolOp(p, rule[:-5], [self.expr(c) for c in ch])
        if rule == "not_test":
            return S.UnaryOp(p, "not", self.expr(ch[0]))
        if rule == "comparison":
            ops = [self.comp_op(c) for c in ch[1::2]]
            return S.Compare(p, self.expr(ch[0]), ops, [self.expr(c) for c in ch[2::2]])
        if rule in _BINARY_RULES:
            return self.fold(p, [self.expr(c) for c in ch], _BINARY_RULES[rule])
        if rule in ("arith_expr", "term", "shift_expr"):
            e = self.expr(ch[0])
            for op, rhs in zip(ch[1::2], ch[2::2]):
                e = S.BinOp(pos_of(op), str(op), e, self.expr(rhs))
            return e
        if rule == "factor":
            return S.UnaryOp(p, str(ch[0]), self.expr(ch[1]))
        if rule == "power":
            return S.BinOp(p, "**", self.expr(ch[0]), self.expr(ch[1]))
        if rule == "eval_input":
            return self.expr(ch[0])
        return self.reject(t)

    @staticmethod
    def fold(p: Pos, operands: list[S.Expr], op: str) -> S.Expr:
        e = operands[0]
        for rhs in operands[1:]:
            e = S.BinOp(p, op, e, rhs)
        return e

    @staticmethod
    def comp_op(t: Tree) -> str:
        text = " ".join(str(c) for c in t.children)
        return "!=" if text == "<>" else text

    def comprehension(self, t: Tree):
        result, fors, cond = t.children
        gens = []
        for f in fors.children:
            is_async, target, it = f.children
            if is_async is not None:
                self.reject(f, "async comprehensions are not supported in script", IGNORE_HINT)
            gens.append(S.Comprehension(pos_of(f), self.target(target), self.expr(it), []))
        if cond is not None:
            gens[-1].ifs.append(self.expr(cond))
        return result, gens

    def arguments(self, t: Tree) -> tuple[list[S.Expr], list[S.Keyword]]:
        args, kws = [], []
        for c in t.children:
            if c is None:
                continue
            if isinstance(c, Tree) and c.data == "starargs" and not args and not kws and \
                    [x for x in c.children if x is not None][0].data == "stararg" and \
                    len([x for x in c.children if x is not None]) == 1:
                # NOTE: f(*t) alone: the compiler accepts it for named-tuple constructors only
                star = c.children[0]
                args.append(S.Starred(pos_of(star), self.expr(star.children[0])))
                continue
            if isinstance(c, Tree) and c.data in ("starargs", "kwargs"):
                self.reject(c)
            if isinstance(c, Tree) and c.data == "comprehension":
                self.reject(c, *UNSUPPORTED["tuple_comprehension"])
            if isinstance(c, Tree) and c.data == "argvalue":
                key, value = c.children
                kws.append(S.Keyword(pos_of(c), self.expr(key).id, self.expr(value)))
            else:
                if kws:
                    self.reject(c, "positional argument follows keyword argument")
                args.append(self.expr(c))
        return args, kws

    # --- literals ---------------------------------------------------------------------------------
    def number(self, tok: Token) -> S.Constant:
        # NOTE: an imaginary literal (2j) is a complex scalar constant (complex tensors: no)
        return S.Constant(pos_of(tok), pyast.literal_eval(str(tok)))

    def string(self, t: Tree) -> S.Expr:
        toks = [t.children[0]] if t.data == "string" else [c.children[0] for c in t.children]
        p = pos_of(t)
        parts: list[S.Expr] = []
        for tok in toks:
            text = str(tok)
            prefix = text[:text.index(text[-1])].lower()
            if "b" in prefix:
                raise self.src.error("bytes literals are not supported in script", pos_of(tok),
                                     "use a str")
            if "f" in prefix:
                parts.extend(self.fstring(text, pos_of(tok)))
            else:
                parts.append(S.Constant(pos_of(tok), pyast.literal_eval(text)))
        if all(isinstance(x, S.Constant) for x in parts):
            return S.Constant(p, "".join(x.value for x in parts))
        return S.FString(p, parts)

    def fstring(self, text: str, p: Pos) -> list[S.Expr]:
        # NOTE: Python itself splits the f-string; each field's expression text then goes through
        # the lark parser like any other expression, so the subset rules apply inside it too.
        try:
            joined = pyast.parse(text, mode="eval").body
        except SyntaxError as e:
            raise self.src.error(f"invalid f-string: {e.msg}", p) from None
        out: list[S.Expr] = []
        for v in joined.values:
            if isinstance(v, pyast.Constant):
                out.append(S.Constant(p, v.value))
                continue
            spec = ""
            if v.format_spec is not None:
                if not all(isinstance(x, pyast.Constant) for x in v.format_spec.values):
                    raise self.src.error("nested fields in a format spec are not supported in "
                                         "script", p, "write the format spec literally")
                spec = "".join(x.value for x in v.format_spec.values)
            conv = "" if v.conversion == -1 else chr(v.conversion)
            if conv == "a":
                raise self.src.error("!a conversions are not supported in script", p,
                                     "use !r or !s")
            inner = self.expr(parse_expression(self.src, pyast.unparse(v.value), p))
            _reposition(inner, p)
            out.append(S.FormattedValue(p, inner, spec, conv))
        return out


def _reposition(e: S.Node, p: Pos) -> None:
    """Point a parsed f-string field (positions relative to its own text) at the f-string."""
    for v in vars(e).values():
        if isinstance(v, S.Node):
            _reposition(v, p)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, S.Node):
                    _reposition(x, p)
    e.pos = p


def build(src: SourceInfo, tree: Tree) -> list[S.Stmt]:
    """The definitions in ``tree`` as typed AST (FunctionDef / ClassDef)."""
    return AstBuilder(src).definitions(tree)
