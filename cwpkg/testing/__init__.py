"""Testing packages: recipe test programs and the libraries' upstream suites under wasmtime, and their report.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "require_all_passed": "checks",
    "run_check": "checks",
    "render_report": "suite_report",
    "SuiteResult": "suites",
    "describe_result": "suites",
    "require_suites_ok": "suites",
    "run_suite": "suites",
    "suite_link_recipes": "suites",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
