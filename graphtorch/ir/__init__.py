"""The typed graph IR (Graph, Block, Node, Value, types, printer, parser, verifier)."""
