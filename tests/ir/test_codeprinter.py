from graphtorch.ir import parse_graph
from graphtorch.ir.codeprinter import python_code

from .test_graph import CELL
from .test_parser import LOOP


def test_code_view_of_calls_and_if():
    code = python_code(parse_graph(CELL))
    lines = code.splitlines()
    # TorchScript-style annotations; `self` unannotated; x.1 becomes a valid identifier
    assert lines[0] == "def forward(self, x_1: Tensor, h: Tensor) -> Tuple[Tensor, Tensor]:"
    # the single-use GetAttr is printed at its use
    assert "  _0 = (self.linear).forward(x_1)" in lines
    assert "  _1 = torch.add(_0, h)" in lines
    assert lines[lines.index("  if True:") + 1:lines.index("  if True:") + 4] == \
        ["    y = _1", "  else:", "    y = _0"]
    assert lines[-1] == "  return (_1, y)"


def test_code_view_of_loop():
    code = python_code(parse_graph(LOOP), "step")
    assert code.startswith("def step(n: int, x: Tensor) -> Tensor:")
    assert "  for i in range(n):\n    _0 = torch.tanh(acc)\n    acc = _0\n  y = acc\n" in code


def test_carried_values_are_never_read_after_reassignment():
    text = """graph(%n : int, %a0 : Tensor, %b0 : Tensor):
  %cond : bool = prim::Constant[value=True]()
  %a : Tensor, %b : Tensor = prim::Loop(%n, %cond, %a0, %b0)
    block0(%i : int, %a1 : Tensor, %b1 : Tensor):
      %s : Tensor = op::add(%a1, %b1)
      %t : Tensor = op::mul(%a1, %b1)
      %c : bool = prim::Constant[value=True]()
      -> (%c, %s, %t)
  return (%a, %b)
"""
    code = python_code(parse_graph(text))
    assert "    s = torch.add(a1, b1)\n    t = torch.mul(a1, b1)\n    a1 = s\n    b1 = t\n" \
        in code


def test_names_never_collide():
    text = """graph(%x.1 : Tensor, %x_1 : Tensor):
  %y : Tensor = op::add(%x.1, %x_1)
  return (%y)
"""
    code = python_code(parse_graph(text))
    assert code.splitlines()[0] == "def forward(x_1: Tensor, x_1_0: Tensor) -> Tensor:"
    assert "return torch.add(x_1, x_1_0)" in code


def test_index_prints_as_a_subscript():
    text = """graph(%x : Tensor, %n : int):
  %one : int = prim::Constant[value=1]()
  %hi : int = prim::sub(%n, %one)
  %s : str = prim::Constant[value="slice"]()
  %none : NoneType = prim::Constant[value=None]()
  %sl : (str, int, int, NoneType) = prim::TupleConstruct(%s, %one, %hi, %none)
  %rest : ((str,), (str, int)) = prim::Constant[value=(("ellipsis",), ("int", 0))]()
  %e : (str,) = prim::TupleIndex(%rest, %one)
  %key : ((str, int, int, NoneType),) = prim::TupleConstruct(%sl)
  %ts : Tensor[] = prim::ListConstruct()
  %y : Tensor = op::index(%x, %key, %ts)
  return (%y)
"""
    code = python_code(parse_graph(text))
    assert "return x[1:(n - 1)]" in code


def test_reads_are_never_printed_after_a_side_effect():
    text = """graph(%x : Tensor):
  %a : Tensor = op::exp(%x)
  %m : str = prim::Constant[value="hi"]()
  = prim::Print(%m)
  %b : Tensor = op::neg(%a)
  return (%b)
"""
    lines = python_code(parse_graph(text)).splitlines()
    assert lines[1] == "  a = torch.exp(x)"
    assert lines[2] == "  print('hi')"
