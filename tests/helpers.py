"""Test helpers shared by the tests: evaluate callbacks, test functions, a torch call log."""

import torch


class TorchCalls(torch.overrides.TorchFunctionMode):
    """Record the name of every torch function called while the mode is on (``names``)."""

    READS = frozenset({"item", "__bool__", "tolist", "__float__", "__int__", "cpu", "numpy"})
    """Functions that read a tensor's data to the host (a synchronization on a GPU)."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))

    def reads(self):
        """Return how many of the calls read data to the host."""
        return sum(name in self.READS for name in self.names)


def make_evaluate(f, check=None):
    """Evaluate from a batched torch function, recording the batch size of every call."""
    calls = []

    def evaluate(points):
        calls.append(points.shape[0])
        if check is not None:
            check(points)
        return f(points).reshape(points.shape[0], -1)

    return evaluate, calls


class Recorder:
    """An ``evaluate`` that records every batch it is given."""

    def __init__(self, fun):
        self.fun = fun
        self.batches = []

    def __call__(self, points):
        self.batches.append(points.clone())
        return self.fun(points)

    @property
    def points(self):
        return torch.cat(self.batches)


def rosen_t(points):
    """Extended Rosenbrock on a (k, n) batch of points."""
    a, b = points[:, :-1], points[:, 1:]
    return (100 * (b - a**2) ** 2 + (1 - a) ** 2).sum(1)


def rosen_column(points):
    """Extended Rosenbrock as an ``evaluate`` wants it: ``(k, n)`` -> ``(k, 1)``."""
    return rosen_t(points)[:, None]


def rosen_grad(x):
    """The analytic gradient of extended Rosenbrock at one point ``(n,)``."""
    g = torch.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def numpy_estimate_as_tensors(estimate):
    """Check that every array of an estimate is a numpy array; return it with tensors."""
    import dataclasses

    import numpy as np

    fields = {}
    for field in dataclasses.fields(estimate):
        value = getattr(estimate, field.name)
        if field.name != "nfev" and value is not None:
            assert isinstance(value, np.ndarray), (field.name, type(value))
            value = torch.from_numpy(np.array(value))
        fields[field.name] = value
    return type(estimate)(**fields)
