"""IR -> IR: the pass manager and every pass."""
