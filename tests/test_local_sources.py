"""Recipes whose source is a directory of the recipe checkout (`sources: [{local: DIR}]`), as cwpkg's
own runtime is: packed into a deterministic archive, cached like a download, rebuilt when it changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import run_cwpkg, snapshot
from tiny import MAKEFILE, SOURCES, env_for, write_repo


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The tiny checkout with `add` built from its directory add-src/ instead of a tarball."""
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    source = root / "add-src"
    source.mkdir()
    for name, content in {**SOURCES["add"], "Makefile": MAKEFILE}.items():
        (source / name).write_bytes(content)
    set_sources(root, [{"local": "add-src"}])
    return root, env_for(root, mirror, tmp_path / "cache")


def set_sources(root: Path, sources: list[dict[str, str]]) -> None:
    path = root / "recipes" / "add.yaml"
    document = yaml.safe_load(path.read_text())
    document["sources"] = sources
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_a_local_source_builds_and_its_changes_rebuild(repo):
    root, env = repo
    first = run_cwpkg("install", "-q", "twice", env=env)
    assert first.returncode == 0, first.stderr
    assert "int add(int a, int b); /* patched */" in (root / "sysroot/include/add.h").read_text()
    info = run_cwpkg("info", "add", env=env)
    assert "source:   local:add-src" in info.stdout, info.stdout
    assert "nothing to do" in run_cwpkg("install", "-q", "twice", env=env).stdout

    (root / "add-src" / "add.c").write_bytes(SOURCES["add"]["add.c"].replace(b"a + b", b"b + a"))
    changed = run_cwpkg("install", "-q", "twice", env=env)
    assert changed.returncode == 0, changed.stderr
    assert "built: add, twice; installed: add, twice" in changed.stdout, changed.stdout


def test_the_same_directory_gives_the_same_identity_anywhere(repo, tmp_path: Path):
    root, env = repo
    assert run_cwpkg("install", "-q", "add", env=env).returncode == 0
    moved = tmp_path / "elsewhere"
    root.rename(moved)
    (moved / "add-src" / "add.c").touch()  # times and places do not count, contents do
    (moved / "add-src" / "empty").mkdir()  # nor empty directories, which git does not keep
    env = {**env_for(moved, moved / "mirror", tmp_path / "cache")}
    again = run_cwpkg("install", "-q", "add", env=env)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr


@pytest.mark.parametrize("sources, message", [
    ([{"local": "add-src", "sha256": "0" * 64}], "key 'sources[0].sha256': unknown key"),
    ([{"local": "missing"}], "key 'sources[0].local':"),
    ([{"local": "../outside"}], "must be a relative path without '..'"),
    ([{"local": "add-src"}, {"url": "https://example.invalid/a.tar.gz", "sha256": "0" * 64}],
     "a local source is the only source of its recipe"),
])
def test_bad_local_sources_are_recipe_errors(repo, sources, message):
    root, env = repo
    set_sources(root, sources)
    before = snapshot(root)
    result = run_cwpkg("install", "-q", "add", env=env)
    assert result.returncode == 3, result.stderr
    assert "recipes/add.yaml" in result.stderr and message in result.stderr, result.stderr
    assert snapshot(root) == before
