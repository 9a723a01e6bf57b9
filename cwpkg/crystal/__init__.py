"""Crystal: the installed compiler, its compat-patched standard library, compiling to wasm32 objects, spec runs.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "CompatStdlib": "compat",
    "compat_stdlib": "compat",
    "CRYSTAL_TARGET": "compile",
    "CrystalCompilation": "compile",
    "chooses_no_collector": "compile",
    "crystal_environment": "compile",
    "program_kind": "compile",
    "CrystalCompiler": "compiler",
    "INSTALL_HINT": "compiler",
    "find_crystal": "compiler",
    "LibDeclarations": "libs",
    "LibField": "libs",
    "LibFun": "libs",
    "Where": "libs",
    "scan_file": "libs",
    "split_top_level": "libs",
    "CrystalSourceTarball": "spec",
    "ExampleOutcome": "spec",
    "SpecExample": "spec",
    "list_examples": "spec",
    "render_spec_report": "spec",
    "require_specs_ok": "spec",
    "run_example": "spec",
    "run_together": "spec",
    "std_spec_files": "spec",
    "write_driver": "spec",
    "SpecJournal": "spec_journal",
    "tree_identity": "spec_journal",
    "ReportPaths": "spec_table",
    "SpecFileRun": "spec_table",
    "build_failure": "spec_table",
    "listing_failure": "spec_table",
    "render_spec_table": "spec_table",
    "spec_totals": "spec_table",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
