"""Lockfile, `install --locked` and `verify`: quick ones on tiny real packages, then the real libraries."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest
from helpers import REPO, run_cwpkg, snapshot
from test_recipes import edit
from tiny import env_for, write_repo


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    return root, env_for(root, mirror, tmp_path / "cache")


def test_lock_records_inputs_and_archives_and_verify_checks_them(tiny):
    root, env = tiny
    assert run_cwpkg("lock", "--all", env=env).returncode == 0
    lock = json.loads((root / "cwpkg.lock").read_text())
    manifest = json.loads((root / "sysroot" / ".cwpkg" / "installed" / "twice.json").read_text())
    entry = lock["packages"]["twice"]
    assert entry["identity"] == manifest["identity"] and entry["archive_sha256"] == manifest["archive_sha256"]
    assert entry["patches"] == {"twice/fix.patch": manifest["patches"][0]["sha256"]}
    assert entry["depends"] == {"add": lock["packages"]["add"]["identity"]}
    result = run_cwpkg("verify", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: 4 files of 2 packages match their manifests and" in result.stdout


def test_verify_reports_modified_missing_and_extra_files(tiny):
    root, env = tiny
    assert run_cwpkg("install", "twice", env=env).returncode == 0
    sysroot = root / "sysroot"
    (sysroot / "include" / "add.h").write_text("changed\n")
    (sysroot / "include" / "twice.h").unlink()
    (sysroot / "lib" / "wasm32-wasi" / "libstray.a").write_bytes(b"!<arch>\n")
    result = run_cwpkg("verify", env=env)
    assert result.returncode == 12
    assert result.stdout.splitlines() == ["modified: include/add.h (add)", "missing:  include/twice.h (twice)",
                                          "extra:    lib/wasm32-wasi/libstray.a"]
    assert "3 differences from the manifests" in result.stderr


def test_locked_install_rebuilds_the_same_bytes_elsewhere(tiny, tmp_path):
    root, env = tiny
    assert run_cwpkg("lock", "--all", env=env).returncode == 0
    other = {**env, "CWPKG_SYSROOT": str(tmp_path / "elsewhere"), "CWPKG_CACHE": str(tmp_path / "cache2")}
    result = run_cwpkg("install", "--locked", "-j", "1", env=other)
    assert result.returncode == 0, result.stderr
    assert run_cwpkg("verify", env=other).returncode == 0
    assert snapshot(tmp_path / "elsewhere" / "include") == snapshot(root / "sysroot" / "include")


def test_changed_input_is_named_and_nothing_is_built(tiny, tmp_path):
    root, env = tiny
    assert run_cwpkg("lock", "--all", env=env).returncode == 0
    with open(root / "patches" / "add" / "fix.patch", "a") as patch:
        patch.write("\n")  # one byte: add changes, and twice, which depends on it
    other = {**env, "CWPKG_SYSROOT": str(tmp_path / "elsewhere")}
    result = run_cwpkg("install", "--locked", env=other)
    assert result.returncode == 12
    assert "add: patch add/fix.patch sha256" in result.stderr and "twice: dependency add changed" in result.stderr
    assert not (tmp_path / "elsewhere").exists()
    edit(root, "twice", lambda d: d["build"].update(make_args=[*d["build"]["make_args"], "V=1"]))
    (root / "patches" / "add" / "fix.patch").write_text(
        (root / "patches" / "add" / "fix.patch").read_text()[:-1])
    result = run_cwpkg("install", "--locked", env=other)
    assert result.returncode == 12
    assert "twice: settings" in result.stderr and "add:" not in result.stderr


def test_a_build_that_does_not_reproduce_is_not_installed(tiny, tmp_path):
    root, env = tiny
    # the object file embeds the nanoseconds of the moment it was compiled (the leading 1 keeps
    # a value like 012345678 from being read as an invalid octal constant)
    edit(root, "add", lambda d: d["build"].update(
        make_args=[*d["build"]["make_args"], "CFLAGS=-O2 -DSTAMP=1$$(date +%N)"]))
    (root / "patches" / "add" / "fix.patch").write_text(
        "--- a/add.c\n+++ b/add.c\n@@ -1,2 +1,3 @@\n-/* add */\n+/* add, patched */\n"
        "+int add_stamp = STAMP;\n int add(int a, int b) {\n")
    assert run_cwpkg("lock", "add", env=env).returncode == 0
    other = {**env, "CWPKG_SYSROOT": str(tmp_path / "elsewhere")}
    result = run_cwpkg("install", "--locked", env=other)
    assert result.returncode == 12
    assert "add: the build produced an archive with sha256" in result.stderr
    assert "same inputs, different bytes" in result.stderr
    assert not (tmp_path / "elsewhere" / "include").exists()
    assert not (tmp_path / "elsewhere" / ".cwpkg" / "archives" / "add.tar.gz").exists()


def test_malformed_or_absent_lockfile_is_a_clear_error(tiny):
    root, env = tiny
    absent = run_cwpkg("install", "--locked", env=env)
    assert absent.returncode == 2 and "no lockfile here" in absent.stderr and "cwpkg lock --all" in absent.stderr
    (root / "cwpkg.lock").write_text('{"cwpkg_lock": 1, "packages": {"add": {"version": "1.0"}}}')
    malformed = run_cwpkg("install", "--locked", env=env)
    assert malformed.returncode == 3 and "entry 'add' is malformed" in malformed.stderr


@pytest.mark.slow
def test_a_build_from_scratch_matches_the_committed_lock(full_sysroot):
    """Every library, built from an empty cache in another directory on another day, gives the
    archives and files that the committed cwpkg.lock records."""
    result = run_cwpkg("verify", env=full_sysroot)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"match their manifests and {REPO / 'cwpkg.lock'}" in result.stdout


@pytest.mark.slow
def test_locked_real_libraries_rebuild_bit_identically_with_another_umask_and_jobs(full_sysroot, tmp_path):
    env = {**full_sysroot, "CWPKG_SYSROOT": str(tmp_path / "second")}
    umask = os.umask(0o077)
    try:
        result = run_cwpkg("install", "--locked", "-j", "1", "zlib", "libyaml", env=env, cwd=tmp_path)
    finally:
        os.umask(umask)
    assert result.returncode == 0, result.stderr
    first = Path(full_sysroot["CWPKG_SYSROOT"])
    for name in ("wasi-libc", "zlib", "libyaml"):
        one = json.loads((first / ".cwpkg" / "installed" / f"{name}.json").read_text())
        two = json.loads((tmp_path / "second" / ".cwpkg" / "installed" / f"{name}.json").read_text())
        assert one["archive_sha256"] == two["archive_sha256"] and one["files"] == two["files"], name
    installed = {path: entry for path, entry in snapshot(tmp_path / "second").items()
                 if not path.startswith(".cwpkg") and entry[0] != "link"}
    assert installed and all(entry[-1] & 0o777 in (0o755, 0o644) for entry in installed.values()), \
        "installed files and directories do not take the umask's modes"
    assert _bundle(env, tmp_path / "second.tar.gz", "zlib", "libyaml") == \
        _bundle(full_sysroot, tmp_path / "first.tar.gz", "zlib", "libyaml")
    shutil.rmtree(tmp_path / "second")


def _bundle(env: dict[str, str], output: Path, *packages: str) -> str:
    result = run_cwpkg("bundle", *packages, "-o", str(output), env=env)
    assert result.returncode == 0, result.stderr
    digest = result.stdout.split()[0]
    assert hashlib.sha256(output.read_bytes()).hexdigest() == digest
    return digest


def test_bundles_of_two_builds_are_identical_and_install_verified(tiny, tmp_path):
    root, env = tiny
    assert run_cwpkg("lock", "--all", env=env).returncode == 0
    other = {**env, "CWPKG_SYSROOT": str(tmp_path / "second"), "CWPKG_CACHE": str(tmp_path / "cache2")}
    assert run_cwpkg("install", "--locked", "-j", "1", env=other).returncode == 0
    first = _bundle(env, tmp_path / "one.tar.gz")
    assert _bundle(other, tmp_path / "two.tar.gz") == first
    with tarfile.open(tmp_path / "one.tar.gz") as tar:
        names = tar.getnames()
    assert {".cwpkg/SHA256SUMS", ".cwpkg/cwpkg.lock", ".cwpkg/installed/add.json", "include/add.h"} <= set(names)
    target = {**env, "CWPKG_SYSROOT": str(tmp_path / "third")}
    result = run_cwpkg("install", "--from-bundle", str(tmp_path / "one.tar.gz"), env=target)
    assert result.returncode == 0, result.stderr
    assert "installed from one.tar.gz: add, twice" in result.stdout
    assert run_cwpkg("verify", env=target).returncode == 0
    again = run_cwpkg("install", "--locked", env=target)
    assert again.returncode == 0 and "nothing to do" in again.stdout, "a bundle's packages need no build"
    assert _bundle(target, tmp_path / "three.tar.gz") == first


def _repack(source: Path, destination: Path, change) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(source) as tar:
            tar.extractall(scratch, filter="tar")
        change(Path(scratch))
        with tarfile.open(destination, "w:gz") as tar:
            for path in sorted(Path(scratch).rglob("*")):
                tar.add(path, arcname=path.relative_to(scratch).as_posix(), recursive=False)


def _tamper_file(tree: Path) -> None:
    (tree / "include" / "add.h").write_text("int add(int a, int b); /* changed */\n")


def _tamper_file_and_sums(tree: Path) -> None:
    _tamper_file(tree)
    digest = hashlib.sha256((tree / "include" / "add.h").read_bytes()).hexdigest()
    sums = tree / ".cwpkg" / "SHA256SUMS"
    sums.write_text("".join(line if not line.endswith("  include/add.h\n") else f"{digest}  include/add.h\n"
                            for line in sums.read_text().splitlines(keepends=True)))


def _tamper_file_sums_and_manifest(tree: Path) -> None:
    _tamper_file_and_sums(tree)
    manifest_path = tree / ".cwpkg" / "installed" / "add.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["include/add.h"] = hashlib.sha256((tree / "include" / "add.h").read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    sums = tree / ".cwpkg" / "SHA256SUMS"
    digest = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    sums.write_text("".join(line if not line.endswith("  .cwpkg/installed/add.json\n")
                            else f"{digest}  .cwpkg/installed/add.json\n"
                            for line in sums.read_text().splitlines(keepends=True)))


@pytest.mark.parametrize("change, message", [
    (_tamper_file, "include/add.h does not match its sha256 in .cwpkg/SHA256SUMS"),
    (_tamper_file_and_sums, "include/add.h differs from what add's manifest records"),
    (_tamper_file_sums_and_manifest, "add's files do not make the archive the lock records"),
    (lambda tree: (tree / "include" / "extra.h").write_text("\n"), "include/extra.h is not listed"),
])
def test_a_changed_bundle_is_refused_before_the_sysroot_changes(tiny, tmp_path, change, message):
    root, env = tiny
    assert run_cwpkg("lock", "--all", env=env).returncode == 0
    _bundle(env, tmp_path / "good.tar.gz")
    _repack(tmp_path / "good.tar.gz", tmp_path / "bad.tar.gz", change)
    target = {**env, "CWPKG_SYSROOT": str(tmp_path / "target")}
    result = run_cwpkg("install", "--from-bundle", str(tmp_path / "bad.tar.gz"), env=target)
    assert result.returncode == 12
    assert message in result.stderr
    assert not (tmp_path / "target").exists()


def test_ci_template_is_a_workflow_of_valid_cwpkg_commands(tmp_path):
    import shlex

    import yaml

    from cwpkg.cli.parser import build_parser

    workflow = tmp_path / "wf.yml"
    result = run_cwpkg("ci-template", "github", "-o", str(workflow))
    assert result.returncode == 0, result.stderr
    steps = yaml.safe_load(workflow.read_text())["jobs"]["sysroot"]["steps"]
    commands = [shlex.split(step["run"].split("|")[0]) for step in steps if "run" in step and "cwpkg " in step["run"]]
    assert [command[1] for command in commands] == ["install", "verify", "check", "cache", "bundle"]
    assert ["--locked"] == commands[0][2:]
    for command in commands:
        build_parser().parse_args(command[1:])  # every step is a command line cwpkg accepts
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)
    again = run_cwpkg("ci-template", "github", "-o", str(workflow))
    assert again.returncode == 2 and "exists" in again.stderr and "--force" in again.stderr
