"""Fixtures of the runtime's tests: bdwgc and cwpkg's runtime in the session's shared sysroot."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import handbuild  # noqa: E402


@pytest.fixture(scope="module")
def gc(full_sysroot: dict[str, str]) -> Iterator[handbuild.Bdwgc]:
    """bdwgc and the runtime in the shared sysroot, which handbuild and cwpkg find by CWPKG_SYSROOT
    and CWPKG_CACHE for as long as this module's tests run."""
    saved = {key: os.environ.get(key) for key in full_sysroot}
    os.environ.update(full_sysroot)
    try:
        yield handbuild.bdwgc()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def runtime(gc: handbuild.Bdwgc) -> Path:
    return handbuild.runtime(gc)
