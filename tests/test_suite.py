"""`cwpkg test`: upstream test programs built for wasm32-wasi, run under wasmtime, each outcome
classified and every non-passing one explained by the recipe, or the run fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cwpkg, snapshot
from test_recipes import edit
from tiny import env_for, write_repo

PROGRAMS = ["t-pass", "t-fail", "t-trap", "t-skip", "t-loop"]


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    return root, env_for(root, mirror, tmp_path / "cache")


def give_suite(root: Path, **overrides) -> None:
    suite = {
        "build": [f"make CC=\"$CC\" NAME=add {' '.join(PROGRAMS)}"],
        "wasm": ["t-*"],
        "cases": {name.removeprefix("t-"): f"./{name}" for name in PROGRAMS},
        "wasi_limits": {"fail": "reason one", "trap": "reason two", "loop": "reason three", "skip": "reason four"},
        "timeout": 3,
        **overrides,
    }
    edit(root, "add", lambda document: document.update(suite=suite))


def test_every_outcome_is_classified_and_reported(checkout):
    root, env = checkout
    give_suite(root)
    result = run_cwpkg("test", "add", "--report", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "add 1.0: 5 tests, 1 pass, 1 fail, 1 crash, 1 timeout, 1 skip" in result.stdout
    assert "| add | 1.0 | 5 | 5 | 1 | 3 | 1 | 0 |" in result.stdout
    for line in ("- `fail`: fail: reason one", "- `trap`: crash: reason two", "- `loop`: timeout: reason three",
                 "- `skip`: skip: reason four"):
        assert line in result.stdout


def test_an_unexplained_crash_fails_the_run_and_shows_the_trap(checkout):
    root, env = checkout
    give_suite(root, wasi_limits={"fail": "reason one", "loop": "reason three", "skip": "reason four"})
    result = run_cwpkg("test", "add", "--report", env=env)
    assert result.returncode == 10
    assert "crash trap (no WASI reason in add.yaml)" in result.stdout
    assert "wasm trap: t-trap: wasm trap: wasm `unreachable` instruction executed" in result.stdout
    assert "- `trap`: crash: **UNEXPLAINED**" in result.stdout
    assert "upstream tests not passing without a WASI reason: add" in result.stderr


def test_skipped_tests_are_not_run_and_stale_reasons_are_problems(checkout):
    root, env = checkout
    give_suite(root, skip={"loop": "would never end", "zz*": "matches nothing"},
               wasi_limits={"fail": "reason one", "trap": "reason two", "skip": "reason four", "pass": "untrue"})
    result = run_cwpkg("test", "add", env=env)
    assert result.returncode == 10
    assert "pass passes, but suite.wasi_limits says it cannot; remove it there" in result.stdout
    assert "suite.skip: 'zz*' matches no test; remove it" in result.stdout
    assert "timeout" not in result.stdout.split("add 1.0:")[1].splitlines()[0]


def test_report_file_is_written_and_sysroot_untouched(checkout, tmp_path):
    root, env = checkout
    give_suite(root)
    assert run_cwpkg("install", "add", env=env).returncode == 0
    before = snapshot(root / "sysroot")
    report = tmp_path / "report.md"
    result = run_cwpkg("test", "add", "--report-file", str(report), env=env)
    assert result.returncode == 0, result.stderr
    assert "| add | 1.0 | 5 | 5 | 1 | 3 | 1 | 0 |" in report.read_text()
    assert snapshot(root / "sysroot") == before


def test_a_wasm_pattern_matching_nothing_names_the_recipe(checkout):
    root, env = checkout
    give_suite(root, wasm=["nothing-*"])
    result = run_cwpkg("test", "add", env=env)
    assert result.returncode == 8
    assert "add.yaml: suite.wasm: 'nothing-*' matched no wasm program" in result.stderr


def test_a_package_without_suite_is_a_usage_error(checkout):
    root, env = checkout
    result = run_cwpkg("test", "twice", env=env)
    assert result.returncode == 2
    assert "twice has no upstream test suite" in result.stderr


def test_a_tree_kept_by_install_is_what_the_suite_runs_in_once(checkout):
    root, env = checkout
    give_suite(root)
    installed = run_cwpkg("install", "--keep-build-trees", "add", env=env)
    assert installed.returncode == 0, installed.stderr
    record = json.loads((root / "sysroot/.cwpkg/trees/add.json").read_text())
    tree = Path(record["path"])
    assert (tree / "src" / "libadd.a").is_file() and record["sysroot"] == str(root / "sysroot")
    # the suite builds its programs in that very tree: a change made there shows in its results
    (tree / "src" / "t-pass.c").write_text((tree / "src" / "t-pass.c").read_text().replace("== 5", "== 6"))
    first = run_cwpkg("test", "add", env=env)
    assert f"add: the suite runs in the build tree that install kept: {tree}" in first.stderr
    assert "add: unpacking" not in first.stderr, "the package was built again"
    assert first.returncode == 10 and "fail pass (no WASI reason in add.yaml)" in first.stdout, first.stdout
    assert not tree.exists() and not (root / "sysroot/.cwpkg/trees").exists(), "a kept tree serves one suite run"
    second = run_cwpkg("test", "add", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "add: unpacking" in second.stderr and "install kept" not in second.stderr


def test_a_new_build_drops_the_tree_an_older_build_kept(checkout):
    root, env = checkout
    give_suite(root)
    assert run_cwpkg("install", "--keep-build-trees", "add", env=env).returncode == 0
    old = Path(json.loads((root / "sysroot/.cwpkg/trees/add.json").read_text())["path"])
    patch = root / "patches/add/fix.patch"
    patch.write_text(patch.read_text().replace("add, patched", "add, patched again"))
    rebuilt = run_cwpkg("install", "add", env=env)
    assert rebuilt.returncode == 0 and "built: add" in rebuilt.stdout, rebuilt.stderr
    assert not old.exists() and not (root / "sysroot/.cwpkg/trees").exists()
    result = run_cwpkg("test", "add", env=env)
    assert result.returncode == 0 and "install kept" not in result.stderr, result.stdout + result.stderr


def test_a_kept_tree_of_another_build_is_not_used(checkout):
    root, env = checkout
    give_suite(root)
    assert run_cwpkg("install", "--keep-build-trees", "add", env=env).returncode == 0
    record_path = root / "sysroot/.cwpkg/trees/add.json"
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "identity": "0" * 64}))
    result = run_cwpkg("test", "add", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "install kept" not in result.stderr and "add: unpacking" in result.stderr
    assert not Path(record["path"]).exists() and not record_path.exists()
