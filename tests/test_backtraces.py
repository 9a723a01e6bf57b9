"""What the link decides for backtraces and exceptions without building a program: the names a backtrace
shows for Crystal's symbols, the early return's encoding, when a program gets exceptions, and the
runtime they need."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cwpkg.crystal.compile import chooses_no_collector
from cwpkg.errors import ProgramError
from cwpkg.link.backtraces import display_name
from cwpkg.link.exceptions import RUNTIME_SYMBOLS, require_exception_runtime
from cwpkg.link.generated import c_string_literal
from cwpkg.link.program import ProgramOptions
from cwpkg.toolchain.detect import detect_toolchain
from cwpkg.wasm import i32_const, return_if_global_set

REPO = Path(__file__).resolve().parents[1]

# Symbols as Crystal 1.6 mangles them (`*Type#method<Arguments>:Result`, class methods with `::`), and
# what a backtrace shows for each: the method with its type, without arguments or result.
SYMBOLS = {
    "*parse_config<String>:Int32": "parse_config",
    "*Service#start<String>:Int32": "Service#start",
    "*Crystal::main_user_code<Int32, Pointer(Pointer(UInt8))>:Int32": "Crystal::main_user_code",
    "*Array(Int32)@Indexable(T)#fetch<Int32>:Int32": "Array(Int32)@Indexable(T)#fetch",
    "*Hash(String, Int32)#[]<String>:Int32": "Hash(String, Int32)#[]",
    "*Foo#each:Nil": "Foo#each",
    "*Foo#<=><Foo>:Int32": "Foo#<=>",
    "*Foo#<<<Int32>:Foo": "Foo#<<",
    "*Foo#<<Foo>:Bool": "Foo#<",
    "*Time@Comparable(Time)#<=<Time>:Bool": "Time@Comparable(Time)#<=",
    "*Int32#<:Bool": "Int32#<",
    "*Foo::<<Int32>:Bool": "Foo::<",
    "__crystal_main": "__crystal_main",
    "GC_malloc": "GC_malloc",
}


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_a_backtrace_names_a_crystal_method_by_its_type_and_name(symbol: str) -> None:
    assert display_name(symbol) == SYMBOLS[symbol]


# i32.const is 0x41 and a signed LEB128 (the WebAssembly binary format's own examples of the encoding).
@pytest.mark.parametrize("value, encoded", [(0, b"\x41\x00"), (63, b"\x41\x3f"), (64, b"\x41\xc0\x00"),
                                            (-1, b"\x41\x7f"), (-64, b"\x41\x40"), (-65, b"\x41\xbf\x7f"),
                                            (624485, b"\x41\xe5\x8e\x26")])
def test_i32_const_is_signed_leb128(value: int, encoded: bytes) -> None:
    assert i32_const(value) == encoded


def test_an_early_return_runs_what_comes_before_it_inside_the_if() -> None:
    before = i32_const(5) + b"\x10\x07"  # i32.const 5; call 7
    check = return_if_global_set(2, b"\x7f", before)
    assert check == b"\x23\x02\x04\x40" + before + b"\x41\x00\x0f\x0b"


@pytest.mark.parametrize("flags, none", [((), False), (("-Dgc_none",), True), (("-D", "gc_none"), True),
                                         (("--define=gc_none",), True), (("--define", "gc_none"), True),
                                         (("-Dgc_nonesuch",), False), (("--release",), False)])
def test_gc_none_spelled_any_way_turns_exceptions_off(flags: tuple[str, ...], none: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRYSTAL_OPTS", raising=False)
    assert chooses_no_collector(flags) is none
    assert ProgramOptions(flags=flags).exceptions_for("crystal") is not none


def test_exceptions_follow_crystal_opts_and_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYSTAL_OPTS", "--release -Dgc_none")
    assert not ProgramOptions().exceptions_for("crystal")
    assert ProgramOptions(exceptions=True).exceptions_for("crystal")  # asked for: the link says why not
    monkeypatch.delenv("CRYSTAL_OPTS")
    assert not ProgramOptions(exceptions=False).exceptions_for("crystal")
    assert not ProgramOptions().exceptions_for("object")  # linked as it was compiled


def runtime_archive(work: Path, symbols: list[str]) -> Path:
    """An archive of one wasm32 object defining `symbols` (functions), as an installed runtime would."""
    toolchain = detect_toolchain()
    source, compiled, archive = work / "rt.c", work / "rt.o", work / "libcwpkg_rt.a"
    source.write_text("".join(f"void {symbol}(void) {{}}\n" for symbol in symbols))
    subprocess.run([toolchain.clang, "--target=wasm32-wasi", "-c", str(source), "-o", str(compiled)], check=True)
    subprocess.run([toolchain.ar, "crs", str(archive), str(compiled)], check=True)
    return archive


def test_a_runtime_older_than_the_exceptions_is_named_before_wasm_ld_runs(tmp_path: Path) -> None:
    """A runtime from before backtraces (all but the trace functions): one error naming what it lacks
    and the fix; the current set passes."""
    older = sorted(RUNTIME_SYMBOLS - {"cwpkg_rt_trace_raise", "cwpkg_rt_trace_frame", "cwpkg_rt_frame_name"})
    with pytest.raises(ProgramError) as refused:
        require_exception_runtime(runtime_archive(tmp_path, older))
    assert "cwpkg_rt_frame_name, cwpkg_rt_trace_frame, cwpkg_rt_trace_raise" in refused.value.message
    assert refused.value.hint.startswith("cwpkg install cwpkg-rt")
    require_exception_runtime(runtime_archive(tmp_path, sorted(RUNTIME_SYMBOLS)))


def test_the_installed_runtime_defines_what_exceptions_need() -> None:
    """The runtime's own sources (runtime/*.c) define every symbol the link requires of it."""
    sources = "".join(path.read_text() for path in (REPO / "runtime").glob("*.c"))
    for symbol in RUNTIME_SYMBOLS:
        assert re.search(rf"\b{symbol}\(", sources), symbol


@pytest.mark.parametrize("text", ["Array(Int32)#each", "ünïcode.wasm", "quote\" back\\slash ?? tab\t"])
def test_a_generated_c_string_literal_holds_the_texts_utf8_bytes(text: str, tmp_path: Path) -> None:
    """The names table and a plugin's program name go into generated C (c_string_literal): a C
    compiler must read back exactly the text's bytes (trigraphs, quotes, non-ASCII included)."""
    source = tmp_path / "show.c"
    source.write_text(f"#include <stdio.h>\nint main(void) {{ fputs({c_string_literal(text)}, stdout); return 0; }}\n")
    subprocess.run(["clang-19", "-std=c99", str(source), "-o", str(tmp_path / "show")], check=True)
    assert subprocess.run([str(tmp_path / "show")], capture_output=True).stdout == text.encode("utf-8")
