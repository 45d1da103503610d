import importlib
import importlib.resources

import pytest

import fdopt


def test_version_is_a_string():
    assert isinstance(fdopt.__version__, str)
    assert fdopt.__version__[0].isdigit()


def test_py_typed_is_shipped():
    assert importlib.resources.files("fdopt").joinpath("py.typed").is_file()


PUBLIC_MODULES = [
    "fdopt",
    "fdopt.api",
    "fdopt.callbacks",
    "fdopt.errors",
    "fdopt.grid",
    "fdopt.optimizers",
    "fdopt.problems",
    "fdopt.scipy_compat",
    "fdopt.settings",
    "fdopt.stencils",
]


def test_design_names_exist():
    """The public names of DESIGN.md that integration code is written against."""
    for name in ("gradient", "grad", "jacobian", "hessian", "minimize", "method", "Gradient"):
        assert callable(getattr(fdopt, name)), name
    for name in ("Recorder", "EarlyStopping", "ProgressBar"):
        assert callable(getattr(fdopt.callbacks, name)), name
    assert issubclass(fdopt.EvaluationError, RuntimeError)
    assert hasattr(fdopt.settings, "StopSettings")


@pytest.mark.parametrize("module", [*PUBLIC_MODULES, "fdopt.cli"])
def test_public_modules_declare_all(module):
    mod = importlib.import_module(module)
    assert mod.__all__
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names missing {name}"


def test_error_classes_subclass_the_builtins():
    assert issubclass(fdopt.ArgumentValueError, ValueError)
    assert issubclass(fdopt.ArgumentValueError, RuntimeError)
    assert issubclass(fdopt.ArgumentTypeError, TypeError)
    assert issubclass(fdopt.ArgumentTypeError, RuntimeError)
    assert issubclass(fdopt.ArgumentValueError, fdopt.FdoptError)
