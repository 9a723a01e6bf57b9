"""Recipe validation: every mistake is one error naming the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import REPO, run_cwpkg, snapshot
from tiny import write_repo


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    write_repo(root)
    return root


def edit(root: Path, name: str, change) -> Path:
    path = root / "recipes" / f"{name}.yaml"
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def run(root: Path, *args: str):
    return run_cwpkg(*args, env={"CWPKG_RECIPES": str(root), "CWPKG_CACHE": str(root / "cache")})


CASES = {
    "unknown top-level key": (lambda d: d.update(buid={"kind": "make"}), "key 'buid': unknown key"),
    "unknown nested key": (lambda d: d["build"].update(configure_flags=[]), "key 'build.configure_flags': unknown key"),
    "missing field": (lambda d: d.pop("version"), "key 'version': missing (required)"),
    "wrong type": (lambda d: d.update(depends="add"), "key 'depends': expected a list, got str"),
    "bad checksum": (lambda d: d["sources"][0].update(sha256="abc"), "key 'sources[0].sha256': 'abc' does not match"),
    "bad build kind": (lambda d: d["build"].update(kind="ninja"), "key 'build.kind': 'ninja' is not one of"),
    "unknown placeholder": (lambda d: d["build"].update(make_args=["X={nope}"]), "unknown placeholder {nope}"),
    "patch escaping patches/": (lambda d: d.update(patches=["../../etc/passwd"]), "must be a relative path without '..'"),
    "shell metacharacters in name": (lambda d: d.update(name="add; rm -rf /"), "does not match"),
    "shell metacharacters in version": (lambda d: d.update(version="1.0$(reboot)"), "key 'version'"),
    "name differs from file": (lambda d: d.update(name="other"), "must match the file name 'add.yaml'"),
    "self dependency": (lambda d: d.update(depends=["add"]), "'add' depends on itself"),
    "unknown dependency": (lambda d: d.update(depends=["ghost"]), "no recipe named 'ghost'"),
    "both url and debian": (lambda d: d["sources"][0].update(debian="pool/x.tar.gz"), "exactly one of 'url' or 'debian'"),
    "non-http url": (lambda d: d["sources"][0].update(url="ftp://example.org/x.tar.gz"), "is not an http(s) URL"),
    "missing patch file": (lambda d: d.update(patches=["add/none.patch"]), "none.patch does not exist"),
    "args of another kind": (lambda d: d["build"].update(cmake_args=["-DX=1"]), "only for kind cmake"),
    "configure script out of the tree": (lambda d: d["build"].update(configure_script="../configure"),
                                         "key 'build.configure_script': '../configure' does not match"),
    "configure script of another kind": (lambda d: d["build"].update(kind="cmake", configure_script="Configure"),
                                         "key 'build.configure_script': only for kind make"),
    "suite that runs nothing": (lambda d: d.update(suite={"wasm": ["t-*"]}), "key 'suite': runs nothing"),
    "suite unknown key": (lambda d: d.update(suite={"cases": {"a": "true"}, "skipped": {}}),
                          "key 'suite.skipped': unknown key"),
    "suite unknown placeholder": (lambda d: d.update(suite={"cases": {"a": "./t {nope}"}}),
                                  "key 'suite.cases.a': unknown placeholder {nope}"),
    "suite skip without reason": (lambda d: d.update(suite={"cases": {"a": "true"}, "skip": {"a": " "}}),
                                  "key 'suite.skip.a': give the reason"),
    "suite bad timeout": (lambda d: d.update(suite={"cases": {"a": "true"}, "timeout": "soon"}),
                          "key 'suite.timeout': expected a positive number of seconds"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_recipe_is_one_clear_error(checkout, case):
    change, message = CASES[case]
    path = edit(checkout, "add", change)
    before = snapshot(checkout)
    result = run(checkout, "install", "add")
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("cwpkg: error:")]
    assert len(errors) == 1, result.stderr
    assert str(path) in errors[0] and message in result.stderr
    assert snapshot(checkout) == before


def test_invalid_yaml_names_file_and_line(checkout):
    path = checkout / "recipes/add.yaml"
    path.write_text("name: add\nversion: [1.0\n")
    result = run(checkout, "recipes")
    assert result.returncode == 3
    assert f"{path}: invalid YAML at line 3" in result.stderr


def test_dependency_cycle_is_named(checkout):
    edit(checkout, "add", lambda d: d.update(depends=["twice"]))
    result = run(checkout, "install", "twice")
    assert result.returncode == 3
    assert "dependency cycle twice -> add -> twice" in result.stderr


def test_unknown_package_lists_the_known_ones(checkout):
    result = run(checkout, "install", "nosuch")
    assert result.returncode == 2
    assert "unknown package 'nosuch'" in result.stderr and "known packages: add, twice" in result.stderr


def test_project_recipes_are_valid_and_complete():
    listing = run_cwpkg("recipes")
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines()]
    assert {"wasi-libc", "bdwgc", "pcre"} <= set(names)
    for name in names:
        document = yaml.safe_load((REPO / "recipes" / f"{name}.yaml").read_text())
        assert document["sources"], name
        if name == "cwpkg-rt":  # cwpkg's own runtime: built from runtime/ of this checkout, on bdwgc
            assert document["sources"] == [{"local": "runtime"}] and document["depends"] == ["bdwgc"]
        elif name != "wasi-libc":
            assert "url" in document["sources"][0], f"{name}: the upstream URL comes first"
            assert document["depends"][0] == "wasi-libc", f"{name}: everything builds on wasi-libc"
            assert set(document["depends"]) <= set(names), f"{name}: depends on unknown recipes"
