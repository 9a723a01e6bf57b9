"""cwpkg's reader of wasm object files' symbol tables agrees with llvm-nm on objects clang makes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cwpkg.toolchain.detect import detect_toolchain
from cwpkg.wasm.module import defined_symbols

SOURCES = {
    "entry.c": "void _start(void) {}\nstatic int hidden(void) { return 2; }\nint counter = 3;\n"
               "static int local_data = 4;\nextern int elsewhere(void);\n"
               "int use(void) { return elsewhere() + hidden() + local_data; }\n"
               "__attribute__((weak)) int maybe(void) { return 1; }\n"
               "__attribute__((visibility(\"hidden\"))) int inner(void) { return 5; }\n",
    "other.c": "extern int counter;\nconst char *greeting = \"hello\";\nint bump(void) { return ++counter; }\n"
               "__attribute__((import_module(\"env\"), import_name(\"host_call\"))) int imported(void);\n"
               "int call(void) { return imported(); }\n",
}


def nm_defined(nm: str, path: Path) -> set[str]:
    listing = subprocess.run([nm, "--defined-only", "--extern-only", str(path)], capture_output=True, text=True,
                             check=True).stdout
    return {line.split()[-1] for line in listing.splitlines() if len(line.split()) >= 2}


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    toolchain = detect_toolchain()
    work = tmp_path_factory.mktemp("objects")
    built = []
    for name, text in SOURCES.items():
        (work / name).write_text(text)
        subprocess.run([toolchain.clang, "--target=wasm32-wasi", "-O1", "-c", str(work / name), "-o",
                        str(work / f"{name[:-2]}.o")], check=True)
        built.append(work / f"{name[:-2]}.o")
    subprocess.run([toolchain.ar, "crs", str(work / "libboth.a"), *map(str, built)], check=True)
    return toolchain, work, built


def test_defined_symbols_of_objects_and_archives_are_what_llvm_nm_lists(objects):
    toolchain, work, built = objects
    for path in [*built, work / "libboth.a"]:
        assert defined_symbols(path) == nm_defined(toolchain.nm, path), path
    entry = defined_symbols(work / "entry.o")
    assert {"_start", "counter", "use", "maybe", "inner"} <= entry
    assert not {"hidden", "local_data", "elsewhere"} & entry
    assert "imported" not in defined_symbols(work / "other.o")


def test_linked_modules_and_other_files_have_no_object_symbols(objects, tmp_path):
    toolchain, work, built = objects
    module = tmp_path / "module.wasm"
    subprocess.run([toolchain.wasm_ld, "--no-entry", "--export-all", "--allow-undefined", *map(str, built),
                    "-o", str(module)], check=True)
    text = tmp_path / "notes.txt"
    text.write_text("not an object\n")
    assert defined_symbols(module) is None
    assert defined_symbols(text) is None
