"""Python -> IR: the tracer, the script compiler and eager fallback."""
