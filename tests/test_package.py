import importlib
import importlib.resources

import pytest

import fdopt


def test_version_is_a_string():
    assert isinstance(fdopt.__version__, str)
    assert fdopt.__version__[0].isdigit()


def test_py_typed_is_shipped():
    assert importlib.resources.files("fdopt").joinpath("py.typed").is_file()


PUBLIC_MODULES = ["fdopt", "fdopt.grid", "fdopt.stencils", "fdopt.errors", "fdopt.settings"]


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
