"""Shared test configuration: hypothesis profiles and the ``cuda`` marker.

Profiles: ``ci`` is deterministic (derandomized, so a failure reproduces exactly on
the next run) and is loaded when the ``CI`` environment variable is set; ``dev`` is
used otherwise. Select one by hand with ``pytest --hypothesis-profile=NAME``.

Tests marked ``@pytest.mark.cuda`` are skipped when no CUDA device is available.
"""

import contextlib
import os
import warnings

import pytest
import torch
from hypothesis import HealthCheck, settings

# When a property test fails, hypothesis's pytest plugin imports its patch writer, which
# imports libcst, whose import emits a DeprecationWarning (from mypy_extensions) in this
# environment; with warnings as errors that aborts the whole session with an INTERNALERROR
# instead of reporting the failure. Import it once here with that one warning ignored.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*TypedDict")
    with contextlib.suppress(ImportError):  # libcst is optional
        import hypothesis.extra._patching  # noqa: F401

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def cuda():
    """The CUDA device; skips the test when there is none."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (torch.cuda.is_available() is False)")
    return torch.device("cuda")
