"""IR -> results: interpreter, executor, CPU codegen, Triton backend."""
