"""cwpkg's wasm32 GC runtime: C and Crystal programs collect where every pointer is visible.

Programs are compiled as `cwpkg link` compiles them and linked by its link driver (handbuild.py), in
the sysroot every slow test shares (conftest.full_sysroot: every recipe, cwpkg-rt among them). bdwgc's
own tests run under the runtime in its upstream suite (recipes/bdwgc.yaml, test_upstream_suites.py).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import handbuild  # noqa: E402
from helpers import run_cwpkg  # noqa: E402

from cwpkg.link import asyncify_lists  # noqa: E402
from cwpkg.link import runtime as wasm_runtime  # noqa: E402
from cwpkg.wasm.code import (  # noqa: E402
    DeadEnd,
    call_instruction,
    defined_function_names,
    function_names,
    read_code_module,
    with_code_edits,
    with_function_names,
)

HERE = Path(__file__).parent
C_PROGRAMS = HERE / "c"
CRYSTAL_PROGRAMS = HERE / "crystal"
EXAMPLES = handbuild.REPO / "examples"
def build_c(name: str, out: Path, gc: handbuild.Bdwgc, runtime: Path | None, *, asserts: bool = False,
            flags: tuple[str, ...] = (), stack_size: int = handbuild.STACK_SIZE) -> handbuild.Built:
    """A C test program at -O2 with libgc, linked by cwpkg (with the runtime), or plainly if runtime is None."""
    program = handbuild.compile_c(C_PROGRAMS / f"{name}.c", gc, out, flags)
    output = out / f"{name}{'.asserts' if asserts else ''}.wasm"
    if runtime is None:
        return handbuild.Built(output, handbuild.link(program, output, gc, None, stack_size), None)
    return handbuild.build(program, output, asserts=asserts, stack_size=stack_size)


# -- the analysis, on a small real module -----------------------------------------------------------

def test_decoder_finds_calls_and_dead_ends(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    program = handbuild.compile_c(C_PROGRAMS / "locals_list.c", gc, tmp_path)
    handbuild.link(program, tmp_path / "linked.wasm", gc, runtime)
    data = (tmp_path / "linked.wasm").read_bytes()
    module = read_code_module(data)
    names = {name: index for index, name in module.names.items()}
    make_tree = module.functions[names["make_tree"]]
    assert names["make_tree"] in make_tree.calls  # recursion
    assert names["__wrap_GC_malloc"] in make_tree.calls
    # `if (tree == NULL) abort();` is a dead end: a path that ends in unreachable
    assert any(names["abort"] in dead_end.calls for dead_end in make_tree.dead_ends)


def test_unwind_paths_of_a_c_program(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    program = handbuild.compile_c(C_PROGRAMS / "locals_list.c", gc, tmp_path)
    handbuild.link(program, tmp_path / "linked.wasm", gc, runtime)
    module = read_code_module((tmp_path / "linked.wasm").read_bytes())
    cuts = asyncify_lists.runtime_cuts(defined_function_names(gc.library), asyncify_lists.wrapped_functions(runtime))
    paths = asyncify_lists.unwind_paths(module, cuts)
    instrumented = {module.name(index) for index in paths.instrumented - paths.unwinders}
    # main, its recursion, the bottom frame's entry and the allocation wrapper: nothing of bdwgc's
    assert instrumented == {"__original_main", "make_tree", "original_main", "__wrap_GC_malloc"}
    # every indirect call may unwind without the runtime's guarantees
    assert asyncify_lists.unwind_paths(module).count > 2 * paths.count


def test_names_survive_the_placeholders(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    program = handbuild.compile_c(C_PROGRAMS / "locals_list.c", gc, tmp_path)
    handbuild.link(program, tmp_path / "linked.wasm", gc, runtime)
    data = (tmp_path / "linked.wasm").read_bytes()
    names = function_names(data)
    renamed = with_function_names(data, {index: f"f{index}" for index in list(names)[:50]})
    assert function_names(renamed) == {**names, **{index: f"f{index}" for index in list(names)[:50]}}
    originals = {f"f{index}": names[index] for index in list(names)[:50]}
    assert function_names(asyncify_lists.restore_names(renamed, originals)) == names


def test_inserted_calls_keep_the_module_valid(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    program = handbuild.compile_c(C_PROGRAMS / "locals_list.c", gc, tmp_path)
    handbuild.link(program, tmp_path / "linked.wasm", gc, runtime)
    data = (tmp_path / "linked.wasm").read_bytes()
    module = read_code_module(data)
    marker = {name: index for index, name in module.names.items()}["cwpkg_rt_dead_end"]
    offsets = {dead_end.offset for function in module.functions for dead_end in function.dead_ends}
    changed = read_code_module(with_code_edits(data, {offset: (offset, call_instruction(marker)) for offset in offsets}))
    added = [dead_end for function in changed.functions for dead_end in function.dead_ends
             if marker in dead_end.calls]
    assert len(added) == len(offsets) and all(isinstance(dead_end, DeadEnd) for dead_end in added)



def test_a_dead_end_keeps_its_marker_where_its_first_call_is_forwarded(tmp_path: Path, gc: handbuild.Bdwgc,
                                                                      runtime: Path) -> None:
    """A marked dead end's calls to instrumented functions go through forwarders, which Binaryen does not
    instrument; the marker, at the same byte, must stay in front of them, or an unwind could start in
    the forwarded call."""
    program = handbuild.compile_c(C_PROGRAMS / "dead_end_calls.c", gc, tmp_path)
    handbuild.link(program, tmp_path / "linked.wasm", gc, runtime)
    data = (tmp_path / "linked.wasm").read_bytes()
    module = read_code_module(data)
    cuts = asyncify_lists.runtime_cuts(defined_function_names(gc.library), asyncify_lists.wrapped_functions(runtime))
    paths = asyncify_lists.unwind_paths(module, cuts)
    starts = {dead_end.offset for function in module.functions for dead_end in function.dead_ends}
    assert any(site.start in starts for site in paths.dead_end_calls)  # the case this test is about
    renamed, _, originals = asyncify_lists.prepare_for_asyncify(data, paths)
    prepared = read_code_module(renamed)
    forwarders = {index for index, name in prepared.names.items() if name.endswith("[from a dead end]")}
    forwarded = [dead_end for function in prepared.functions for dead_end in function.dead_ends
                 if dead_end.calls & forwarders]
    assert forwarded and all(paths.marker in dead_end.calls for dead_end in forwarded)
    assert {originals[prepared.name(next(iter(prepared.functions[index].calls)))] for index in forwarders} == {"make"}


# -- C programs -------------------------------------------------------------------------------------

LIST_RESULT = re.compile(r"^0 nodes damaged in \d+ checks of 100000 list nodes and 1501 trees, (\d+) collections")


@pytest.mark.slow
@pytest.mark.parametrize("asserts", [False, True], ids=["O", "asyncify-asserts"])
def test_list_and_trees_in_locals_survive(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path, asserts: bool) -> None:
    built = build_c("locals_list", tmp_path, gc, runtime, asserts=asserts)
    ran = handbuild.execute(built.module)
    assert ran.status == 0, ran.stdout + ran.stderr + str(ran.trap)
    match = LIST_RESULT.match(ran.stdout)
    assert match and int(match.group(1)) >= 100, ran.stdout


@pytest.mark.slow
def test_cwpkg_link_of_a_c_object_with_lgc_adds_the_runtime(tmp_path: Path, gc: handbuild.Bdwgc,
                                                             full_sysroot: dict[str, str]) -> None:
    """What a user types: `cwpkg link prog.o -- -lgc`, nothing else."""
    program = handbuild.compile_c(C_PROGRAMS / "locals_list.c", gc, tmp_path)
    module = tmp_path / "list.wasm"
    linked = run_cwpkg("link", str(program.objects[0]), "-o", str(module), "--", "-lgc", env=full_sysroot)
    assert linked.returncode == 0, linked.stderr
    assert re.search(r"cwpkg runtime: .* instrumented \d+ of \d+ functions", linked.stderr), linked.stderr
    ran = run_cwpkg("run", str(module), env=full_sysroot)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    match = LIST_RESULT.match(ran.stdout)
    assert match and int(match.group(1)) >= 100, ran.stdout


BUILD_SYSTEMS = {
    "make": "$CC $CFLAGS -I$CWPKG_SYSROOT/include list.c -o list.wasm $LDFLAGS -lgc",
    "cmake": ("cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=\"$CWPKG_CMAKE_TOOLCHAIN\" -DCMAKE_BUILD_TYPE=Release"
              " >/dev/null && cmake --build build >/dev/null && cp build/list.wasm ."),
}
CMAKE_PROJECT = """\
cmake_minimum_required(VERSION 3.13)
project(list C)
find_library(GC_LIBRARY gc REQUIRED)
find_path(GC_INCLUDE gc.h REQUIRED)
add_executable(list list.c)
target_include_directories(list PRIVATE ${GC_INCLUDE})
target_link_libraries(list ${GC_LIBRARY})
"""


@pytest.mark.slow
@pytest.mark.parametrize("build_system", sorted(BUILD_SYSTEMS))
def test_c_builds_after_cwpkg_env_link_the_runtime(tmp_path: Path, gc: handbuild.Bdwgc, full_sysroot: dict[str, str],
                                                   build_system: str) -> None:
    """A plain C build in a shell that sourced `cwpkg env`: its link goes through cwpkg's wasm-ld, so
    -lgc (or CMake's path to libgc.a) brings the runtime and the Asyncify step."""
    shutil.copy(C_PROGRAMS / "locals_list.c", tmp_path / "list.c")
    (tmp_path / "CMakeLists.txt").write_text(CMAKE_PROJECT)
    script = f'eval "$({sys.executable} -m cwpkg env --shell)" && {BUILD_SYSTEMS[build_system]}'
    build = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                           env={**full_sysroot, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert build.returncode == 0, build.stdout + build.stderr
    assert "cwpkg runtime:" in build.stderr, build.stderr
    ran = run_cwpkg("run", str(tmp_path / "list.wasm"), env=full_sysroot)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    match = LIST_RESULT.match(ran.stdout)
    assert match and int(match.group(1)) >= 100, ran.stdout


@pytest.mark.slow
def test_plain_bdwgc_frees_what_locals_hold(tmp_path: Path, gc: handbuild.Bdwgc) -> None:
    """The problem the runtime solves: collections allowed anywhere, without the runtime."""
    built = build_c("locals_list", tmp_path, gc, None, flags=("-DWITHOUT_RUNTIME",))
    ran = handbuild.execute(built.module)
    damaged = int(ran.stdout.split()[0]) if ran.stdout[:1].isdigit() else None
    assert ran.status != 0 and (damaged is None or damaged > 0), ran.stdout


@pytest.mark.slow
def test_a_function_left_out_is_caught_by_asyncify_asserts(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    original = wasm_runtime.unwind_paths

    def without_make_tree(module, cuts):  # type: ignore[no-untyped-def]
        paths = original(module, cuts)
        left_out = {index for index in paths.instrumented if module.name(index) == "make_tree"}
        return dataclasses.replace(paths, instrumented=paths.instrumented - left_out)

    monkeypatch.setattr(wasm_runtime, "unwind_paths", without_make_tree)
    built = build_c("locals_list", tmp_path, gc, runtime, asserts=True)
    ran = handbuild.execute(built.module)
    assert ran.status == 134 and "unreachable" in (ran.trap or ""), ran.stdout


@pytest.mark.slow
def test_heap_exhaustion_is_a_clear_error(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    built = build_c("out_of_memory", tmp_path, gc, runtime)
    ran = handbuild.execute(built.module, env={"GC_MAXIMUM_HEAP_SIZE": "16M"})
    assert ran.status == 1, (ran.status, ran.stdout, ran.stderr, ran.trap)
    assert "cwpkg_rt: out of memory: could not allocate" in ran.stderr
    assert "even after a collection" in ran.stderr and "GC_MAXIMUM_HEAP_SIZE" in ran.stderr
    assert "returned NULL" not in ran.stdout


@pytest.mark.slow
def test_a_stack_too_deep_to_unwind_names_the_limit(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    built = build_c("deep_unwind", tmp_path, gc, runtime, stack_size=128 * 1024)
    ran = handbuild.execute(built.module)
    assert ran.status == 1, (ran.status, ran.stdout, ran.stderr, ran.trap)
    assert "cwpkg_rt: the call stack is too deep to unwind" in ran.stderr
    assert "a 128 KiB stack" in ran.stderr and "-z stack-size=BYTES" in ran.stderr


@pytest.mark.slow
def test_the_same_recursion_collects_with_a_larger_stack(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    built = build_c("deep_unwind", tmp_path, gc, runtime)
    ran = handbuild.execute(built.module, env={"CWPKG_RT_STATS": "1"})
    assert ran.status == 0, ran.stderr
    assert re.search(r"cwpkg_rt: [1-9]\d* collections", ran.stderr), ran.stderr


@pytest.mark.slow
def test_allocating_on_a_moved_stack(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    built = build_c("moved_stack", tmp_path, gc, runtime)
    ran = handbuild.execute(built.module)
    assert (ran.status, ran.stdout) == (0, "300000 cells checked, 0 damaged\n"), (ran.stderr, ran.trap)


# -- Crystal programs -------------------------------------------------------------------------------

# Every example links with the runtime in test_link.py (its output checked against examples/*.expected).
CRYSTAL_CASES = {
    "gc_features": (CRYSTAL_PROGRAMS / "gc_features.cr", (), False),
    "gc_disable": (CRYSTAL_PROGRAMS / "gc_disable.cr", (), False),
    "keep_alive": (CRYSTAL_PROGRAMS / "keep_alive.cr", (), True),  # optimized: its locals are wasm locals
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CRYSTAL_CASES))
def test_crystal_program_prints_what_native_prints(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path,
                                                   name: str) -> None:
    source, args, release = CRYSTAL_CASES[name]
    program = handbuild.compile_crystal(source, tmp_path, release=release)
    built = handbuild.build(program, tmp_path / f"{name}.wasm")
    ran = handbuild.execute(built.module, args, directory=tmp_path)
    assert ran.status == 0, (ran.stderr[-2000:], ran.trap)
    assert ran.stdout == handbuild.native_output(source, args)


@pytest.mark.slow
def test_binary_trees_prints_what_native_prints_in_bounded_memory(tmp_path: Path, gc: handbuild.Bdwgc,
                                                                   runtime: Path) -> None:
    source = CRYSTAL_PROGRAMS / "binary_trees.cr"
    program = handbuild.compile_crystal(source, tmp_path, release=True)
    built = handbuild.build(program, tmp_path / "binary_trees.wasm")
    ran = handbuild.execute(built.module, ("16",))
    assert ran.status == 0 and ran.memory <= 32 << 20, (ran.memory, ran.stderr)
    assert ran.stdout == handbuild.native_output(source, ("16",))


@pytest.mark.slow
def test_allocating_more_than_a_gigabyte_in_32_mib(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    program = handbuild.compile_crystal(CRYSTAL_PROGRAMS / "alloc_heavy.cr", tmp_path, release=True)
    built = handbuild.build(program, tmp_path / "alloc_heavy.wasm")
    ran = handbuild.execute(built.module, env={"CWPKG_RT_STATS": "1"})
    assert ran.status == 0, ran.stderr
    assert ran.stdout == handbuild.native_output(CRYSTAL_PROGRAMS / "alloc_heavy.cr")
    assert ran.memory <= 32 << 20, ran.memory


@pytest.mark.slow
def test_stored_hashes_keep_no_garbage_alive(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    """wasm32-hash-not-pointers.patch: without it the heap ends near 80 MiB, growing every round."""
    source = CRYSTAL_PROGRAMS / "hash_retention.cr"
    built = handbuild.build(handbuild.compile_crystal(source, tmp_path), tmp_path / "hash_retention.wasm")
    ran = handbuild.execute(built.module)
    assert (ran.status, ran.stdout) == (0, handbuild.native_output(source)), ran.stderr
    assert ran.memory <= 32 << 20, ran.memory


@pytest.mark.slow
def test_crystal_under_asyncify_asserts(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    source = CRYSTAL_PROGRAMS / "gc_features.cr"
    program = handbuild.compile_crystal(source, tmp_path)
    built = handbuild.build(program, tmp_path / "gc_features.asserts.wasm", asserts=True)
    ran = handbuild.execute(built.module)
    assert (ran.status, ran.stdout) == (0, handbuild.native_output(source)), (ran.stderr, ran.trap)


@pytest.mark.slow
@pytest.mark.parametrize("asserts", [False, True], ids=["O", "asyncify-asserts"])
def test_collections_with_gmp_pcre_and_libxml2_frames_on_the_stack(tmp_path: Path, gc: handbuild.Bdwgc,
                                                                     runtime: Path, asserts: bool) -> None:
    source = CRYSTAL_PROGRAMS / "c_frames.cr"
    program = handbuild.compile_crystal(source, tmp_path, release=True)
    assert {"gmp", "pcre", "xml2"} <= set(program.libraries)
    built = handbuild.build(program, tmp_path / f"c_frames{'.asserts' if asserts else ''}.wasm", asserts=asserts)
    ran = handbuild.execute(built.module, env={"CWPKG_RT_STATS": "1"})
    assert (ran.status, ran.trap) == (0, None), (ran.stderr[-2000:], ran.trap)
    assert ran.stdout == handbuild.native_output(source)
    collections = re.search(r"cwpkg_rt: (\d+) collections", ran.stderr)
    assert collections and int(collections.group(1)) >= 20, ran.stderr


@pytest.mark.slow
def test_crystal_heap_exhaustion_is_a_clear_error(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path) -> None:
    program = handbuild.compile_crystal(CRYSTAL_PROGRAMS / "out_of_memory.cr", tmp_path, release=True)
    built = handbuild.build(program, tmp_path / "out_of_memory.wasm")
    ran = handbuild.execute(built.module, env={"GC_MAXIMUM_HEAP_SIZE": "32M"})
    assert (ran.status, ran.trap) == (1, None), (ran.stdout[-300:], ran.stderr[-2000:], ran.trap)
    assert "kept 2000 arrays" in ran.stdout  # 16 MiB kept: the heap was used before it ran out
    assert "cwpkg_rt: out of memory: could not allocate" in ran.stderr, ran.stderr[-2000:]


@pytest.mark.slow
def test_gc_none_still_selects_the_old_collector(tmp_path: Path, gc: handbuild.Bdwgc) -> None:
    source = EXAMPLES / "hello.cr"
    program = handbuild.compile_crystal(source, tmp_path, gc=False)  # -Dgc_none beside -Dcwpkg_runtime
    assert "gc" not in program.libraries
    handbuild.link(program, tmp_path / "hello.wasm", None, None)
    ran = handbuild.execute(tmp_path / "hello.wasm", directory=tmp_path)
    assert (ran.status, ran.stdout) == (0, handbuild.native_output(source))


@pytest.mark.slow
@pytest.mark.parametrize("asserts", [False, True], ids=["O", "asyncify-asserts"])
def test_collections_due_on_the_way_out_of_a_raise(tmp_path: Path, gc: handbuild.Bdwgc, runtime: Path,
                                                   asserts: bool) -> None:
    """Crystal 1.6's raise on wasm32 prints the exception and exits: its message allocates enough for
    collections to fall due on a path the analysis treats as a dead end (not instrumented for its sake).
    The dead-end marker forbids unwinds there; without it this traps (asserts) or corrupts."""
    source = CRYSTAL_PROGRAMS / "raise_collects.cr"
    program = handbuild.compile_crystal(source, tmp_path)
    built = handbuild.build(program, tmp_path / "raise_collects.wasm", asserts=asserts)
    assert built.instrumented and built.instrumented.paths.dead_ends
    ran = handbuild.execute(built.module, env={"CWPKG_RT_STATS": "1"})
    assert (ran.status, ran.trap) == (1, None), (ran.stdout[-500:], ran.stderr[-2000:], ran.trap)
    first_line = handbuild.native_output(source, status=1).splitlines()[0]
    assert ran.stdout.startswith(first_line + "\nEXITING: Attempting to raise:\n"), ran.stdout[:500]
    assert "end of the expensive message (ExpensiveError)" in ran.stdout
    assert re.search(r"cwpkg_rt: [1-9]\d* collections", ran.stderr), ran.stderr
