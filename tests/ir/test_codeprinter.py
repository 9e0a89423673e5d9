from graphtorch.ir import parse_graph
from graphtorch.ir.codeprinter import python_code

from .test_graph import CELL
from .test_parser import LOOP


def test_code_view_of_calls_and_if():
    code = python_code(parse_graph(CELL))
    lines = code.splitlines()
    assert lines[0].startswith("def forward(self")
    assert "  linear = self.linear" in lines
    assert "  _1 = torch.add(_0, h)" in lines
    assert lines[lines.index("  if True:") + 1:lines.index("  if True:") + 4] == \
        ["    y = _1", "  else:", "    y = _0"]
    assert lines[-1] == "  return _2"


def test_code_view_of_loop():
    code = python_code(parse_graph(LOOP), "step")
    assert code.startswith("def step(n: int, x: ")
    assert "  for i in range(n):\n    _0 = torch.tanh(acc)\n    acc = _0\n  y = acc\n" in code
