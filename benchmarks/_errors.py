"""The one error type a benchmark raises for the user: one line, naming the cause and the fix."""


class BenchError(RuntimeError):
    pass
