# Recursion without end hits the stack check: RuntimeError, raised to the
# caller. IN="python": a Python function calling itself; IN="c": repr() of a
# deeply nested list, recursion inside the C runtime. Prints nothing.
IN = globals().get("IN", "python")


def f(n):
    return f(n + 1) + 1


if IN == "python":
    f(0)
else:
    l = []
    for i in range(200000):
        l = [l]
    repr(l)
