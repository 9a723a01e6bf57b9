"""How `cwpkg spec` reads an example's outcome from the instance that ran it alone (cwpkg.crystal.spec)."""

from __future__ import annotations

from cwpkg.crystal.spec import ERROR, SpecExample, classify
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
