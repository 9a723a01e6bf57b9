"""cwpkg.crystal.ir: what the link reads from a Crystal program's LLVM IR (the functions it only calls)."""

from __future__ import annotations

from cwpkg.crystal.ir import only_called

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
