"""cwpkg.crystal.ir: what the link reads from a Crystal program's LLVM IR (the functions it only calls)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cwpkg.crystal.ir import (
    defined_funs,
    only_called,
    without_comparison_constants,
    without_exports,
)
from cwpkg.toolchain.detect import detect_toolchain

# The shapes Crystal 1.6 writes (crystal build --emit llvm-ir): quoted names with \XX escapes, invokes,
# a proc's function taken through a bitcast, a callback stored in a global, a plain declaration.
IR = rb'''
@"'hello'" = private constant { i32, i32, i32, [6 x i8] } { i32 1, i32 5, i32 5, [6 x i8] c"hello\00" }
@callbacks = global [1 x void ()*] [void ()* @"stored\22callback"]

define void @__crystal_main(i32 %argc, i8** %argv) local_unnamed_addr !dbg !3 {
entry:
  call void @"*puts<String>:Nil"(i8* null)
  invoke fastcc void @"*raise<IndexError>:NoReturn"(i32 1)
          to label %ok unwind label %pad
ok:
  invoke void @GC_set_start_callback(%Nil ()* bitcast (void ()* @"~procProc(Nil)@boehm.cr:164" to %Nil ()*))
          to label %done unwind label %pad
done:
  ret void
pad:
  ret void
}

define internal fastcc void @"*puts<String>:Nil"(i8* %s) unnamed_addr {
  ret void
}

define internal fastcc void @"*raise<IndexError>:NoReturn"(i32 %x) {
  unreachable
}

define internal void @"~procProc(Nil)@boehm.cr:164"() {
  ret void
}

define void @"stored\22callback"() {
  ret void
}

declare void @GC_set_start_callback(%Nil ()*)
'''


def test_only_the_functions_never_referenced_but_as_callees_count():
    assert only_called(IR) == {"__crystal_main", "*puts<String>:Nil", "*raise<IndexError>:NoReturn"}


PLUGIN_IR = rb'''
define i32 @add(i32 %a, i32 %b) #44 !dbg !20 {
  ret i32 0
}
define i32 @main(i32 %argc, i8** %argv) #37 !dbg !21 {
  ret i32 0
}
define i8* @__crystal_once_init() #0 !dbg !22 {
  ret i8* null
}
define internal fastcc void @"*puts<String>:Nil"(i8* %s) unnamed_addr !dbg !23 {
  ret void
}
attributes #44 = { uwtable "wasm-export-name"="add" }
attributes #37 = { uwtable "wasm-export-name"="main" }
!4 = !DIFile(filename: "??", directory: ".")
!5 = !DIFile(filename: "plugin.cr", directory: "/home/ada/plugin")
!6 = !DIFile(filename: "main.cr", directory: "/usr/lib/crystal/crystal")
!20 = distinct !DISubprogram(name: "add", linkageName: "add", scope: !5, file: !5, line: 1, type: !7)
!21 = distinct !DISubprogram(name: "main", linkageName: "main", scope: !6, file: !6, line: 1, type: !7)
!22 = distinct !DISubprogram(name: "__crystal_once_init", scope: !4, file: !4, line: 1, type: !7)
!23 = distinct !DISubprogram(name: "puts", scope: !5, file: !5, line: 2, type: !7)
'''


def test_a_plugins_funs_are_the_ones_defined_outside_the_standard_library():
    """The funs `cwpkg link --reactor` exports by default: C-named, from the program's own files (not
    the standard library's, not the compiler's own "??"); a Crystal method is not one."""
    assert defined_funs(PLUGIN_IR, [Path("/usr/lib/crystal")]) == ["add"]
    assert defined_funs(PLUGIN_IR, [Path("/home/ada"), Path("/usr/lib/crystal")]) == []


def test_a_plugins_ir_loses_the_exports_crystal_gives_every_fun():
    stripped = without_exports(PLUGIN_IR)
    assert b"wasm-export-name" not in stripped
    assert stripped.count(b"\n") == PLUGIN_IR.count(b"\n") and b"attributes #44 = { uwtable }" in stripped


# Pointer(Socket::Server)#bytesize as Crystal 1.6 writes it (http/client/client_spec.cr): the overflow
# check's sizeof(T) < 0 is a comparison constant expression; a quoted name holds "<" and ">".
COMPARISON_IR = rb'''
define internal i32 @"*Pointer(Socket::Server)@Pointer(T)#bytesize<Int32>:UInt32"(i32** %self, i32 %count) {
normal:
  %0 = icmp ne i32 %count, 0
  %1 = and i1 %0, icmp slt (i32 ptrtoint (i32** getelementptr (i32*, i32** null, i32 1) to i32), i32 0)
  %2 = select i1 %1, i32 0, i32 %count
  ret i32 %2
}

define i1 @"*Int32#<=><Int32>:Int32"() {
entry:
  %0 = or i1 false, icmp eq (i32 ptrtoint (i32 ()* @"*Pointer(Socket::Server)@Pointer(T)#bytesize<Int32>:UInt32" to i32), i32 0)
  ret i1 %0
}
'''


def test_comparison_constant_expressions_become_instructions_clang_19_reads(tmp_path: Path) -> None:
    """LLVM 19 no longer reads icmp constant expressions, which Crystal 1.6's LLVM writes: each becomes an
    instruction of its own, and the module compiles."""
    clang = detect_toolchain().clang
    original, rewritten = tmp_path / "original.ll", tmp_path / "rewritten.ll"
    original.write_bytes(COMPARISON_IR)
    rewritten.write_bytes(without_comparison_constants(COMPARISON_IR))
    compile_ir = [clang, "--target=wasm32-wasi", "-c", "-Wno-override-module", "-o", str(tmp_path / "out.o")]
    refused = subprocess.run([*compile_ir, str(original)], capture_output=True, text=True)
    assert refused.returncode != 0 and "icmp constexprs are no longer supported" in refused.stderr
    compiled = subprocess.run([*compile_ir, str(rewritten)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    assert b"  %cwpkg.cmp0 = icmp slt i32 ptrtoint (i32** getelementptr (i32*, i32** null, i32 1) to i32), 0\n" \
           b"  %1 = and i1 %0, %cwpkg.cmp0\n" in rewritten.read_bytes()
    assert without_comparison_constants(IR) == IR  # nothing to rewrite: the same bytes
