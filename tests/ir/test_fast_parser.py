"""The fast IR reader against the lark reader: same graphs, same failures, same errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphtorch.errors import IRParseError
from graphtorch.ir import graphs_equal
from graphtorch.ir.fast_parser import TERMINALS, FastPathMiss, parse_graph_fast
from graphtorch.ir.parser import lark_parser, parse_graph, parse_graph_lark

from .graph_strategies import graphs
from .test_graph import CELL
from .test_parser import EVERYTHING, LOOP


def _outcome(parse, text: str):
    """("ok", graph) or ("error", exception)."""
    try:
        return "ok", parse(text)
    except Exception as e:   # noqa: BLE001 - any failure counts as "fails"
        return "error", e


def _assert_same(text: str) -> None:
    """Both readers fail, or both build equal graphs (names and sources included)."""
    fast, lark = _outcome(parse_graph_fast, text), _outcome(parse_graph_lark, text)
    assert fast[0] == lark[0], (text, fast[1], lark[1])
    if lark[0] == "ok":
        assert graphs_equal(fast[1], lark[1], check_names=True, check_source=True), text
        assert str(fast[1]) == str(lark[1])
    else:
        # parse_graph answers with lark's exception, message for message
        combined = _outcome(parse_graph, text)[1]
        assert type(combined) is type(lark[1]) and str(combined) == str(lark[1])


def test_terminals_are_the_grammars():
    compiled = {t.name: t.pattern.to_regexp() for t in lark_parser().terminals}
    assert {name: compiled[name] for name in TERMINALS} == TERMINALS


@pytest.mark.parametrize("text", [LOOP, EVERYTHING])
def test_fast_path_takes_printed_text(text):
    g = parse_graph_fast(text)
    assert str(g) == text
    assert graphs_equal(g, parse_graph_lark(text), check_names=True, check_source=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_parse_the_same(g):
    text = str(g)
    fast = parse_graph_fast(text)      # printed text never needs lark
    assert str(fast) == text
    assert graphs_equal(fast, parse_graph_lark(text), check_names=True, check_source=True)
    assert graphs_equal(fast, g, check_names=True, check_source=True)


# Characters that matter to the grammar, and some that only lark's lexer rejects.
_ALPHABET = list("%():,=[]?#<>\".-+_ \n\t\r\f\v0123456789abeficnprtyTBgs") + ["", "\\"]


# Random graphs, and hand-written texts with what the strategy does not make (nested graphs).
_texts = st.one_of(graphs(max_nodes=6).map(str), st.sampled_from([CELL, LOOP, EVERYTHING]))


@st.composite
def _mutated(draw) -> str:
    text = draw(_texts)
    i = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(["replace", "insert", "delete"]))
    if how == "delete":
        return text[:i] + text[i + 1:]
    ch = draw(st.sampled_from(_ALPHABET))
    return text[:i] + ch + text[i + (how == "replace"):]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_single_character_mutations_agree(text):
    _assert_same(text)


# Words that are keywords somewhere, or tokens that overlap another terminal.
_WORDS = ["Tensor", "Dict", "Function", "graph", "type", "slice", "return", "->", "...", "cpu",
          "cuda:1", "cuda:x", "inf", "-inf", "nan", "1.", "1e5", "-3", "block0", "op::neg",
          "True", "float32", "%x", "<tensor:t>", '"s"', "()", "[]", "?", "# f.py:1:2\n"]


@st.composite
def _word_inserted(draw) -> str:
    text = draw(_texts)
    i = draw(st.integers(0, len(text)))
    sep = draw(st.sampled_from(["", " ", "\n"]))
    return text[:i] + sep + draw(st.sampled_from(_WORDS)) + sep + text[i:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_word_inserted())
def test_inserted_tokens_agree(text):
    _assert_same(text)


@pytest.mark.parametrize("text", [
    # keywords are NAMEs where their state does not take them
    "graph(%x : type, %y : graph, %z : return):\n  return (%x)",
    "graph(%x : int):\n  %y : int = prim::C[type=1, graph=2, slice=3, Tensor=4](%x)\n"
    "  return (%y)",
    "graph(%f : Function(Tensor)):\n  return (%f)",
    "graph(%x : Tensor.x, %y : Tensorx, %z : Dictx):\n  return (%x)",
    "graph(%z : Dict):\n  return (%z)",
    # tokens that overlap: DEVICE before NAME, FLOAT before INT and NAME
    "graph():\n  %a : Any = prim::Constant[value=[cpu, cuda:1, cpux, cuda.x]]()\n  return (%a)",
    "graph():\n  %a : Any = prim::Constant[value=(inf, -inf, nan, 1., 1e5, -0, 007)]()\n"
    "  return (%a)",
    "graph():\n  %a : Any = prim::Constant[value=inf.x]()\n  return (%a)",
    "graph():\n  %a : Any = prim::Constant[value=1e]()\n  return (%a)",
    "graph(%x : Tensor(cuda:x)):\n  return (%x)",
    "graph(%x : Tensor(cpu_x)):\n  return (%x)",
    # whitespace anywhere between tokens, none where it may be left out
    "graph(%x:Tensor)  :  %y : Tensor=op::neg(%x) return(%y)",
    "graph ( %x : int [ ] ? , %y : Tensor ( float32 , [ B , ? , 3 ] , cpu ) ) : "
    "%z : int = prim::C [ value = 1 ] ( %x , %y ) # a.py:1:2\n return ( %z )",
    "graph(%x : int):\r\n  %y : int = op::neg(%x)  # a.py:1:2\r\n  return (%y)\r\n",
    "graph(%x : int):\n  %y : int = op::neg(%x)\v\n  return (%y)",
    "graph(%x : int):\n  %y : int = op::neg(%x)  # a.py:1:2  # b.py:3:4\n  return (%y)",
    "graph(%x : int):\n  %y : int = op::neg(%x)\n  # a.py:1:2\n  return (%y)",
    # structure: empty pieces, trailing commas, blocks of the wrong kind
    "graph():\n  return ()",
    "graph(%x : Tensor()):\n  return (%x)",
    "graph(%x : (int)):\n  return (%x)",
    "graph(%x : (int,), %y : (int, str)):\n  return (%x)",
    "graph(%y : (int, str,)):\n  return (%y)",
    "graph():\n  %a : Any = prim::Constant[value=[1, 2,]]()\n  return (%a)",
    "graph():\n  %a : Any = prim::C[]()\n  return (%a)",
    "graph(%x : int):\n  -> (%x)",
    "graph(%x : bool):\n  %y : int = prim::If(%x)\n    block0():\n      return (%x)\n"
    "  return (%y)",
    "graph(%x : bool):\n  %y : int = prim::If(%x)\n    block0():\n      -> (%x)\n"
    "    block1():\n      -> (%x)\n  return (%y)",
    "graph(%x : bool):\n  %y : int = prim::If(%x)  # a.py:1:1\n    block0():\n"
    "      %z : int = prim::C()\n      -> (%z)\n  return (%y, %z)",
    # semantic errors (the lark reader's messages)
    "graph(%x : Tensor):\n  %y : Tensor = op::neg(%z)\n  return (%y)",
    "graph(%x : Tensor, %x : int):\n  return (%x)",
    "graph(%x : Tensor(float99)):\n  return (%x)",
    "graph(%x : Tensor([-1])):\n  return (%x)",
    "graph(%x : Tensor([B.x])):\n  return (%x)",
    "graph(%x : int??):\n  return (%x)",
    "graph(%x : int?[]?):\n  return (%x)",
    "graph():\n  %a : Any = prim::Constant[value=\"\\q\"]()\n  return (%a)",
    "graph():\n  %a : Any = prim::Constant[value=\"\t\"]()\n  return (%a)",
    "graph():\n  %a : Any = prim::Constant[value=type]()\n  return (%a)",
    "graph():\n  %a : Any = prim::Constant[value=slice(1, 2)]()\n  return (%a)",
    "graph():\n  %a : Any = prim::C[v=1, v=2]()\n  return (%a)",
    "graph():\n  %a : Any = prim::C()  # nowhere\n  return (%a)",
    "graph(%x. : int, %x : int):\n  return (%x)",
    "graph(%7 : int, %x.1 : int, %x : int, %x.1.1 : int):\n  return (%7)",
])
def test_edge_cases_agree(text):
    _assert_same(text)


def test_deep_nesting_is_refused_before_either_reader_recurses():
    deep = "(" * 5000 + "int" + ", int)" * 5000
    text = f"graph(%x : {deep}):\n  return (%x)"
    with pytest.raises(RecursionError):   # the fast reader alone recurses per level
        parse_graph_fast(text)
    with pytest.raises(IRParseError, match="nest deeper than the limit of 64") as info:
        parse_graph(text)                 # parse_graph scans the nesting first (ir/nesting.py)
    assert info.value.line == 1


def test_misses_are_fast_path_misses():
    with pytest.raises(FastPathMiss):
        parse_graph_fast("graph(%x : int):\n  return (%y)")
