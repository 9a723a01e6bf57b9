"""`cwpkg spec`: Crystal spec files built for wasm32 through the link driver, each example run alone."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess

import pytest
from helpers import REPO, make_tarball, run_cwpkg, snapshot

pytestmark = pytest.mark.slow

SUMMARY = re.compile(r"^(\d+) examples, (\d+) failures, (\d+) errors, (\d+) pending, (\d+) unsupported on wasm32 "
                     r"by Crystal [\d.]+ \((\d+) passed\)$", re.M)


def _counts(stdout: str) -> dict[str, int]:
    match = SUMMARY.search(stdout)
    assert match, stdout
    return dict(zip(("examples", "failures", "errors", "pending", "unsupported", "passed"), map(int, match.groups())))


def _examples_in(paths) -> int:
    return sum(len(re.findall(r"^\s*(?:it|pending) \"", path.read_text(), re.M)) for path in paths)


def test_project_specs_pass_on_wasm32_for_every_library(full_sysroot):
    files = sorted((REPO / "spec").glob("*_spec.cr"))
    result = run_cwpkg("spec", *map(str, files), env=full_sysroot)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = _counts(result.stdout)
    assert counts["examples"] == _examples_in(files)
    assert counts["failures"] == counts["errors"] == 0
    # the one example that expects an exception and the one that needs fibers are reported as such
    assert counts["unsupported"] == 1 and counts["pending"] == 1
    assert "cannot catch one on wasm32" in result.stdout
    assert counts["passed"] == counts["examples"] - 2
    for library in ("pcre", "gmp", "libyaml", "libxml2", "zlib"):
        assert library in result.stderr, f"the specs link {library}"


def test_failing_fixture_is_counted_and_fails_the_run(full_sysroot):
    fixture = REPO / "tests" / "fixtures" / "spec" / "failing_spec.cr"
    result = run_cwpkg("spec", str(fixture), env=full_sysroot)
    assert result.returncode == 10
    assert _counts(result.stdout) == {"examples": 6, "failures": 1, "errors": 1, "pending": 1, "unsupported": 2,
                                      "passed": 1}
    assert f"FAIL        fixture fails on purpose ({fixture}:9)" in result.stdout
    assert "Expected: 43" in result.stdout and "got: 42" in result.stdout
    assert "ERROR       fixture raises an unexpected error" in result.stdout and "ArgumentError: boom" in result.stdout
    assert "does not implement this on wasm32: Not Implemented: Crystal::System::File.real_path" in result.stdout
    assert "2 of 6 spec examples failed on wasm32" in result.stderr


def test_with_exceptions_the_examples_run_together_and_expected_raises_for_real(full_sysroot, tmp_path):
    """--exceptions: one instance runs every example, failures are caught as natively, and an example
    that expects an exception runs it; the counts are native Crystal's own (`crystal spec` on the same
    file), but for File.real_path, which WASI lacks."""
    fixture = REPO / "tests" / "fixtures" / "spec" / "failing_spec.cr"
    result = run_cwpkg("spec", "--exceptions", str(fixture), env=full_sysroot)
    assert result.returncode == 10, result.stderr
    assert "running 6 examples in one instance" in result.stderr and "each in its own instance" not in result.stderr
    native = subprocess.run(["crystal", "spec", "--no-color", str(fixture)], capture_output=True, text=True,
                            cwd=tmp_path, env={k: v for k, v in os.environ.items() if not k.startswith("CRYSTAL_")})
    expected = re.search(r"^(\d+) examples, (\d+) failures, (\d+) errors, (\d+) pending", native.stdout, re.M)
    assert expected, native.stdout + native.stderr
    examples, failures, errors, pending = map(int, expected.groups())
    counts = _counts(result.stdout)
    assert (counts["examples"], counts["failures"], counts["errors"], counts["pending"]) == (examples, failures,
                                                                                              errors, pending)
    assert counts["unsupported"] == 1 and "File.real_path" in result.stdout
    assert counts["passed"] == examples - failures - errors - pending - 1 == 2  # expect_raises ran and passed


def test_with_exceptions_a_trap_runs_the_rest_alone(full_sysroot):
    fixture = REPO / "tests" / "fixtures" / "spec" / "trap_spec.cr"
    result = run_cwpkg("spec", "--exceptions", str(fixture), env=full_sysroot)
    assert result.returncode == 10, result.stderr
    assert "running 2 examples, each in its own instance" in result.stderr
    assert _counts(result.stdout) == {"examples": 3, "failures": 0, "errors": 1, "pending": 0, "unsupported": 0,
                                      "passed": 2}
    assert f"ERROR       trap fixture traps ({fixture}:14)" in result.stdout and "crashed: wasm trap" in result.stdout


SOURCE_TREE = {
    "spec/wasm32_std_spec.cr": b'require "./std/sample_spec.cr"\n',
    "spec/std/sample_spec.cr": b'require "spec"\n\ndescribe "sample" do\n  it "reads its data" do\n'
                               b'    File.read("spec/std/data/value.txt").should eq("42\\n")\n  end\n\n'
                               b'  it "adds" do\n    (1 + 1).should eq(2)\n  end\nend\n',
    "spec/std/data/value.txt": b"42\n",
}


def test_crystal_source_tarball_is_fetched_verified_and_its_wasm32_spec_run(full_sysroot, http_server, tmp_path):
    tarball = make_tarball(SOURCE_TREE, top="crystal-1.6.0")
    http_server.add("/crystal-1.6.0.tar.gz", tarball)
    url = f"{http_server.base}/crystal-1.6.0.tar.gz"
    env = {**full_sysroot, "CWPKG_CACHE": str(tmp_path / "cache")}
    wrong = run_cwpkg("spec", "--crystal-src", url, "--crystal-src-sha256", "0" * 64, env=env)
    assert wrong.returncode == 4 and "sha256" in wrong.stderr
    assert snapshot(tmp_path / "cache" / "crystal-source") == {}
    result = run_cwpkg("spec", "--crystal-src", url, "--crystal-src-sha256", hashlib.sha256(tarball).hexdigest(),
                       env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _counts(result.stdout) == {"examples": 2, "failures": 0, "errors": 0, "pending": 0, "unsupported": 0,
                                      "passed": 2}


def test_crystal_source_directory_runs_the_named_spec_files(full_sysroot, tmp_path):
    for name, content in SOURCE_TREE.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(content)
    result = run_cwpkg("spec", "--crystal-src", str(tmp_path / "src"), "spec/std/sample_spec.cr", env=full_sysroot)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _counts(result.stdout)["passed"] == 2
    absent = run_cwpkg("spec", "--crystal-src", str(tmp_path / "src"), "spec/std/none_spec.cr", env=full_sysroot)
    assert absent.returncode == 2 and "none_spec.cr: no such spec file" in absent.stderr
