from hypothesis import HealthCheck, given, settings

from graphtorch.ir import graphs_equal, parse_graph, parse_type, verify

from .graph_strategies import graphs, types


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_round_trip_exactly(g):
    verify(g)
    text = str(g)
    back = parse_graph(text)
    assert str(back) == text
    assert graphs_equal(back, g, check_names=True, check_source=True)
    verify(back)
    copied = g.copy()
    assert str(copied) == text and graphs_equal(copied, g, check_names=True, check_source=True)


@settings(max_examples=200, deadline=None)
@given(types)
def test_random_types_round_trip(t):
    assert parse_type(str(t)) == t
