"""How `cwpkg spec` reads an example's outcome from the instance that ran it alone (cwpkg.crystal.spec)."""

from __future__ import annotations

from pathlib import Path

from cwpkg.crystal.spec import ERROR, PASS, ExampleOutcome, SpecExample, classify
from cwpkg.crystal.spec_table import ReportPaths, SpecFileRun, render_spec_table
from cwpkg.wasm import RunResult

EXAMPLE = SpecExample(index=0, file="spec/std/sample_spec.cr", line=3, end_line=5, name="sample adds")


def runner_output(seconds: str) -> str:
    """What Crystal's spec runner prints for one example that ended with an error, taking `seconds`."""
    return (f"E\n\nFinished in {seconds} milliseconds\n1 examples, 0 failures, 1 errors, 0 pending\n\n"
            "Failed examples:\n\ncrystal spec spec/std/sample_spec.cr:3 # sample adds\n")


def test_a_reason_quotes_the_output_without_the_runners_timing() -> None:
    """A --report must come out the same from the same inputs: the time an example took is not part
    of the reason it failed."""
    slow, fast = (classify(RunResult(1, runner_output(seconds), "", None), EXAMPLE, "1.6.0")
                  for seconds in ("812.5", "3.25"))
    assert slow.status == fast.status == ERROR
    assert slow.detail == fast.detail
    assert "1 errors" in slow.detail and "Finished in" not in slow.detail


def test_a_file_that_skips_itself_says_so_in_its_row(tmp_path: Path) -> None:
    """A spec file whose `skip_file` applies on wasm32 (Crystal's big/number_spec.cr skips 32-bit
    targets) builds and runs no examples: its row names the directive instead of a bare "ok"."""
    skipping, running = tmp_path / "spec/std/number_spec.cr", tmp_path / "spec/std/adds_spec.cr"
    skipping.parent.mkdir(parents=True)
    skipping.write_text('{% skip_file if flag?(:bits32) %}\n\nrequire "spec"\n')
    running.write_text('{% skip_file if flag?(:win32) %}\nrequire "spec"\nit "adds" { (1 + 1).should eq(2) }\n')
    passed = ExampleOutcome(SpecExample(0, str(running), 3, 3, "adds"), PASS)
    table = render_spec_table([SpecFileRun(running, (passed,)), SpecFileRun(skipping)],
                              ReportPaths(tmp_path, tmp_path / "stdlib"), "1.6.0", True)
    assert "| `spec/std/number_spec.cr` | ok, no examples: the file has `skip_file if flag?(:bits32)` | 0 |" in table
    assert "| `spec/std/adds_spec.cr` | ok | 1 | 1 |" in table
