"""`cwpkg spec`: Crystal spec files built for wasm32 through the link driver, their examples run under
wasmtime (together with exceptions, the default; each alone without), and the per-file report."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import REPO, make_tarball, run_cwpkg, snapshot, sysroot_without

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
    # exceptions (the default): all in one instance, the example that expects a raise and the one
    # that runs fibers among them
    assert "examples in one instance" in result.stderr and "each in its own instance" not in result.stderr
    assert counts["passed"] == counts["examples"]
    for library in ("pcre", "gmp", "libyaml", "libxml2", "zlib"):
        assert library in result.stderr, f"the specs link {library}"


def test_without_exceptions_each_example_runs_alone_and_failures_are_counted(full_sysroot):
    fixture = REPO / "tests" / "fixtures" / "spec" / "failing_spec.cr"
    result = run_cwpkg("spec", "--no-exceptions", str(fixture), env=full_sysroot)
    assert result.returncode == 10
    assert _counts(result.stdout) == {"examples": 6, "failures": 1, "errors": 1, "pending": 1, "unsupported": 2,
                                      "passed": 1}
    assert f"FAIL        fixture fails on purpose ({fixture}:9)" in result.stdout
    assert "Expected: 43" in result.stdout and "got: 42" in result.stdout
    assert "ERROR       fixture raises an unexpected error" in result.stdout and "ArgumentError: boom" in result.stdout
    assert "does not implement this on wasm32: Not Implemented: Crystal::System::File.real_path" in result.stdout
    assert "2 of 6 spec examples failed on wasm32" in result.stderr


def test_with_exceptions_the_examples_run_together_and_expected_raises_for_real(full_sysroot, tmp_path):
    """With exceptions (the default, asked for here): one instance runs every example, failures are
    caught as natively, and an example that expects an exception runs it; the counts are native Crystal's own (`crystal spec` on the same
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


REPORT_TREE = {
    "spec/std/adds_spec.cr": 'require "spec"\n\ndescribe "adds" do\n  it "adds" do\n    (1 + 1).should eq(2)\n'
                             '  end\n\n  it "joins" do\n    [1, 2].join("-").should eq("1-2")\n  end\nend\n',
    "spec/std/compares_spec.cr": 'require "spec"\n\ndescribe "compares" do\n  it "compares equal" do\n'
                                 '    1.should eq(1)\n  end\n\n  it "fails on purpose" do\n'
                                 '    (6 * 7).should eq(43)\n  end\n\n  it "compares less" do\n'
                                 '    (1 < 2).should be_true\n  end\nend\n',
    "spec/std/broken_spec.cr": 'require "spec"\n\ndescribe "broken" do\n  it "calls a method nobody defined" do\n'
                               '    cwpkg_undefined_method.should eq(1)\n  end\nend\n',
    "spec/std/data/helper.cr": "# not a spec file: no row\n",
}


def _report_rows(markdown: str) -> dict[str, list[str]]:
    """The report's table: each spec file's cells after its name (a `|` in a reason is escaped)."""
    return {name: cells.split(" | ") for name, cells in re.findall(r"^\| `([^`]+)` \| (.*) \|$", markdown, re.M)}


def _line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_report_builds_each_std_spec_file_alone_and_gives_every_non_pass_a_reason(full_sysroot, tmp_path):
    """--report with --crystal-src and no files: every spec/std/**/*_spec.cr, each built and run on
    its own, so a file that does not compile is a row with the compiler's error, not the end of the
    run; the counts are what each file's examples do, and each example that does not pass is listed
    with its reason."""
    source = tmp_path / "src"
    for name, content in REPORT_TREE.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(content)
    report = tmp_path / "std.md"
    result = run_cwpkg("spec", "--crystal-src", str(source), "--report", str(report), env=full_sysroot)
    assert result.returncode == 0, result.stdout + result.stderr  # a report, though an example failed
    markdown = report.read_text()
    spec_files = sorted(name for name in REPORT_TREE if name.endswith("_spec.cr"))
    rows = _report_rows(markdown)
    assert list(rows) == spec_files, markdown
    for number, name in enumerate(spec_files, 1):
        assert f"[{number}/{len(spec_files)}] {name}" in result.stderr

    adds, compares = (_examples_in([source / f"spec/std/{name}_spec.cr"]) for name in ("adds", "compares"))
    assert rows["spec/std/adds_spec.cr"] == ["ok", str(adds), str(adds), "0", "0", "0", "0", "0"]
    assert rows["spec/std/compares_spec.cr"] == ["ok", str(compares), str(compares - 1), "1", "0", "0", "0", "0"]
    broken = rows["spec/std/broken_spec.cr"]
    call = _line_of(REPORT_TREE["spec/std/broken_spec.cr"], "cwpkg_undefined_method")
    assert broken[0].startswith("does not compile: undefined local variable or method 'cwpkg_undefined_method'")
    assert broken[0].endswith(f"(spec/std/broken_spec.cr:{call}:5)") and broken[1:] == ["0"] * 7

    failing = _line_of(REPORT_TREE["spec/std/compares_spec.cr"], "fails on purpose")
    assert ("## `spec/std/compares_spec.cr`\n\n"
            f"- `spec/std/compares_spec.cr:{failing}` compares fails on purpose: fail: Expected: 43 got: 42\n"
            in markdown)
    assert "## `spec/std/adds_spec.cr`" not in markdown  # nothing to explain
    totals = (f"3 spec files, 2 built and ran; {adds + compares} examples: {adds + compares - 1} passed, 1 failed, "
              f"0 errors, 0 pending, 0 unsupported, 0 unexplained.")
    assert f"\n{totals}\n" in markdown and totals in result.stdout
    assert "Crystal 1.6.0" in markdown.split("|", 1)[0]
    # the same tree gives the same text: no scratch or source tree paths, no date
    assert f"{tempfile.gettempdir()}/" not in markdown and str(tmp_path) not in markdown
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", markdown)

    missing = run_cwpkg("spec", "--crystal-src", str(source), "--report", str(tmp_path / "none" / "std.md"),
                        env=full_sysroot)
    assert missing.returncode == 2 and f"the directory {tmp_path / 'none'} does not exist" in missing.stderr


def test_report_installs_what_files_built_side_by_side_need(full_sysroot, tmp_path):
    """Two spec files built at once (-j 2), each needing a library the sysroot lacks: both are
    installed (by the main thread: the build engine sets signal handlers) and both files run."""
    env = sysroot_without(full_sysroot, tmp_path, "libxml2", "zlib", "libyaml")
    sysroot = Path(env["CWPKG_SYSROOT"])
    source = tmp_path / "src"
    (source / "spec/std").mkdir(parents=True)
    (source / "spec/std/deflates_spec.cr").write_text(
        'require "spec"\nrequire "compress/zlib"\n\ndescribe "zlib" do\n  it "round-trips" do\n'
        '    io = IO::Memory.new\n    Compress::Zlib::Writer.open(io) { |zlib| zlib.print "hello" }\n'
        '    io.rewind\n    Compress::Zlib::Reader.open(io) { |zlib| zlib.gets_to_end }.should eq("hello")\n'
        '  end\nend\n')
    (source / "spec/std/parses_spec.cr").write_text(
        'require "spec"\nrequire "yaml"\n\ndescribe "yaml" do\n  it "parses" do\n'
        '    YAML.parse("a: [1, 2]")["a"][1].as_i.should eq(2)\n  end\nend\n')
    report = tmp_path / "std.md"
    result = run_cwpkg("spec", "-j", "2", "--crystal-src", str(source), "--report", str(report), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _report_rows(report.read_text())
    assert rows["spec/std/deflates_spec.cr"][:3] == ["ok", "1", "1"], rows
    assert rows["spec/std/parses_spec.cr"][:3] == ["ok", "1", "1"], rows
    assert {"zlib", "libyaml"} <= {path.stem for path in (sysroot / ".cwpkg/installed").iterdir()}


def _interrupt_after_first_row(run: subprocess.Popen, journals: Path) -> None:
    """Ctrl-C once the run's journal holds its first file's row (broken_spec.cr, which fails to
    compile within seconds, while compares_spec.cr, built beside it, takes longer)."""
    deadline = time.monotonic() + 120
    while not any(journal.read_text().count("\n") for journal in journals.glob("*.jsonl")):
        assert run.poll() is None and time.monotonic() < deadline, "the run ended or never recorded a file"
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)


def test_report_run_interrupted_midway_continues_where_it_stopped(full_sysroot, tmp_path):
    """A --report run takes hours over Crystal's std spec: interrupted, the same command again skips the
    files it finished (from its journal in the cache) and writes the same report as one unbroken
    run; the journal is gone once the report is written, and changed inputs start the run over."""
    source = tmp_path / "src"
    tree = {name: REPORT_TREE[name] for name in ("spec/std/broken_spec.cr", "spec/std/compares_spec.cr")}
    for name, content in tree.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(content)
    report = tmp_path / "std.md"
    command = [sys.executable, "-m", "cwpkg", "spec", "--crystal-src", str(source), "--report", str(report)]
    own_cache = {**full_sysroot, "CWPKG_CACHE": str(tmp_path / "cache")}  # its journals only
    env = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")} | own_cache
    journals = tmp_path / "cache" / "spec-reports"
    with subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.DEVNULL) as first:
        _interrupt_after_first_row(first, journals)
        assert first.wait(timeout=60) == 130
    assert not report.exists() and len(list(journals.iterdir())) == 1

    resumed = run_cwpkg("spec", "--crystal-src", str(source), "--report", str(report), env=own_cache)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "continuing an interrupted run: 1 of 2 files done" in resumed.stderr
    assert "[1/2]" not in resumed.stderr and "[2/2] spec/std/compares_spec.cr" in resumed.stderr
    rows = _report_rows(report.read_text())
    assert rows["spec/std/broken_spec.cr"][0].startswith("does not compile: undefined local variable")
    assert rows["spec/std/compares_spec.cr"][:2] == ["ok", str(_examples_in([source / "spec/std/compares_spec.cr"]))]
    assert not journals.exists()

    # interrupted again, then a spec file changed: nothing of the old journal is used
    with subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.DEVNULL) as again:
        _interrupt_after_first_row(again, journals)
        again.wait(timeout=60)
    (source / "spec/std/broken_spec.cr").write_text(REPORT_TREE["spec/std/adds_spec.cr"])
    fresh = run_cwpkg("spec", "--crystal-src", str(source), "--report", str(report), env=own_cache)
    assert fresh.returncode == 0 and "continuing" not in fresh.stderr and "[1/2]" in fresh.stderr
    assert _report_rows(report.read_text())["spec/std/broken_spec.cr"][0] == "ok"
