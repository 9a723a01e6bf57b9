"""Compiles a Crystal program to a wasm32-wasi object with the installed compiler and its compat patches."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cwpkg.crystal import host_cc
from cwpkg.crystal.compat import CompatStdlib
from cwpkg.crystal.compiler import CrystalCompiler
from cwpkg.crystal.ir import (
    defined_funs,
    only_called,
    without_comparison_constants,
    without_exports,
)
from cwpkg.errors import ProgramError, UsageError
from cwpkg.sysroot import Sysroot
from cwpkg.wasm import LinkLine, is_linked_program, is_wasm, parse_link_line

if TYPE_CHECKING:
    from cwpkg.toolchain import Toolchain

CRYSTAL_TARGET = "wasm32-unknown-wasi"
# Selects the Boehm collector on wasm32 (patches/crystal/1.6.0/wasm32-gc.patch): the program links libgc,
# and with it cwpkg's runtime. -Dgc_none still wins; off wasm32 the flag means nothing.
RUNTIME_FLAG = "-Dcwpkg_runtime"
# Makes raise unwind through cwpkg's runtime (patches/crystal/1.6.0/wasm32-runtime-exceptions.patch); the
# program is then compiled again from its LLVM IR with exceptions lowered the Emscripten way.
EXCEPTIONS_FLAG = "-Dcwpkg_exceptions"
LOWER_EXCEPTIONS = ["-mllvm", "-enable-emscripten-cxx-exceptions"]
# Makes the program a WASI reactor, a plugin (patches/crystal/1.6.0/wasm32-reactor.patch, cwpkg.link.reactor).
REACTOR_FLAG = "-Dcwpkg_reactor"


def chooses_no_collector(flags: Sequence[str]) -> bool:
    """Whether crystal's flags, or CRYSTAL_OPTS, choose gc/none (-Dgc_none, --define=gc_none, ...), which
    has no runtime."""
    words = [*os.environ.get("CRYSTAL_OPTS", "").split(), *flags]
    return (any(word in ("-Dgc_none", "--define=gc_none") for word in words)
            or any(flag in ("-D", "--define") and name == "gc_none" for flag, name in zip(words, words[1:])))


def crystal_environment(compiler: CrystalCompiler, stdlib: CompatStdlib, sysroot: Sysroot) -> dict[str, str]:
    """What the compiler must see: the patched stdlib, and the sysroot for libraries and pkg-config.

    With PKG_CONFIG_LIBDIR on the sysroot, the `pkg-config` that `@[Link(pkg_config: ...)]` runs finds
    the wasm32 builds rather than the host's libraries. CRYSTAL_OPTS (which every `crystal build` reads)
    carries RUNTIME_FLAG after the caller's own options.
    """
    options = os.environ.get("CRYSTAL_OPTS", "").split()
    return {
        "CRYSTAL_PATH": compiler.search_path_with(stdlib.path),
        "CRYSTAL_LIBRARY_PATH": str(sysroot.lib_dir),
        "CRYSTAL_OPTS": " ".join([*[option for option in options if option != RUNTIME_FLAG], RUNTIME_FLAG]),
        **sysroot.pkg_config_environment(),
    }


def host_cc_environment(sysroot: Sysroot) -> dict[str, str]:
    """CC for the native links of macro `run` helpers: the caller's compiler, without the sysroot's
    library directories (cwpkg.crystal.host_cc)."""
    return {"CC": host_cc.command(), host_cc.SYSROOT_VARIABLE: str(sysroot.root),
            host_cc.REAL_CC_VARIABLE: os.environ.get("CC", "cc")}


def shell_words(line: str, env: dict[str, str]) -> list[str]:
    """The words of the link line crystal printed, as the shell that runs a native link splits them:
    `@[Link(ldflags: ...)]` may hold command substitutions (the standard library's OpenSSL bindings
    ask pkg-config, or fall back to `printf %s '-lssl -lcrypto'`), which the shell runs here with the
    compilation's environment (pkg-config sees the sysroot). A line without any is split as it is."""
    if "`" not in line and "$(" not in line:
        return shlex.split(line)
    result = subprocess.run(["sh", "-c", 'eval "set -- $1"; printf "%s\\0" "$@"', "sh", line], capture_output=True,
                            text=True, env=env)
    if result.returncode != 0:
        raise ProgramError(f"the link line crystal printed could not be expanded by the shell:\n{line[:2000]}\n"
                           f"{result.stderr.strip()[-1000:]}", hint="check the program's @[Link(ldflags: ...)]")
    return result.stdout.split("\0")[:-1]


def program_kind(path: Path) -> str:
    """"crystal" for a source file, "object" for a wasm32 object file; anything else is an error."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if path.suffix == ".cr":
        return "crystal"
    if is_wasm(path) and not is_linked_program(path):
        return "object"
    what = "an already linked module" if is_wasm(path) else "neither Crystal source (.cr) nor a wasm32 object file"
    raise UsageError(f"{path}: {what}",
                     hint="give a .cr file, or an object from `crystal build --cross-compile --target "
                          f"{CRYSTAL_TARGET}`" + ("; run a module with `cwpkg run`" if is_wasm(path) else ""))


class CrystalCompilation:
    """`crystal build --cross-compile` of one program, running while the caller prepares the link.

    With `exceptions`, crystal also writes the program's LLVM IR, which `lower_exceptions` compiles
    again into the object the link line names. With `reactor`, the program is a plugin (REACTOR_FLAG)."""

    def __init__(self, compiler: CrystalCompiler, stdlib: CompatStdlib, source: Path, workdir: Path,
                 sysroot: Sysroot, release: bool, flags: list[str], exceptions: bool = False,
                 reactor: bool = False) -> None:
        # In the caller's directory, as `crystal build` would run: CRYSTAL_PATH's relative `lib` entry
        # (where shards installs dependencies) is looked up there, not beside the source. Crystal writes
        # the IR to its working directory, so a compilation that emits it runs in `workdir`, with the
        # relative entries of CRYSTAL_PATH made absolute.
        self.compiler, self.source, self.directory = compiler, source, workdir if exceptions else Path.cwd()
        self.release, self.ir = release, workdir / f"{source.stem}.ll" if exceptions else None
        self.stdlib_paths, self.reactor = [stdlib.path, compiler.stdlib], reactor
        emit = ["--emit", "llvm-ir", EXCEPTIONS_FLAG] if exceptions else []
        emit += [REACTOR_FLAG] if reactor else []
        argv = [compiler.executable, "build", "--cross-compile", "--no-color", "--target", CRYSTAL_TARGET,
                str(source.resolve()), "-o", str(workdir / "program"), *(["--release"] if release else []), *flags,
                *emit]
        env = {**os.environ, **crystal_environment(compiler, stdlib, sysroot), **host_cc_environment(sysroot)}
        if exceptions:
            env["CRYSTAL_PATH"] = os.pathsep.join(str(Path.cwd() / entry) if entry else entry
                                                  for entry in env["CRYSTAL_PATH"].split(os.pathsep))
        self.environment = env
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                        cwd=self.directory)

    def link_line(self) -> LinkLine:
        """Waits for the compiler; the link line it printed, naming the object it wrote."""
        stdout, stderr = self.process.communicate()
        if self.process.returncode != 0:
            output = (stdout + stderr).strip()
            raise ProgramError(f"crystal {self.compiler.version} could not compile {self.source}:\n{output[-6000:]}",
                               hint="fix the program (the message above is the compiler's)")
        line = parse_link_line(stdout, lambda text: shell_words(text, self.environment))
        # Crystal names objects relative to its working directory.
        line.objects = [str((self.directory / obj).resolve()) for obj in line.objects]
        return line

    def lower_exceptions(self, toolchain: Toolchain, sysroot: Sysroot, line: LinkLine) -> LinkLine:
        """Compiles the IR again, its exceptions lowered to invoke_SIG calls (runtime/exceptions.c), into
        the object crystal wrote (the link line's first); the link line with the functions the IR only
        calls (LinkLine.only_called). A plugin's IR first loses the exports Crystal gives every fun:
        the link exports what a host may call, each call inside the runtime (cwpkg.link.reactor). The
        comparisons Crystal's LLVM writes as constant expressions, which clang-19 no longer reads, are
        made instructions (cwpkg.crystal.ir.without_comparison_constants)."""
        assert self.ir is not None, "the compilation emitted no IR"
        emitted = self.ir.read_bytes()
        ir = without_comparison_constants(without_exports(emitted) if self.reactor else emitted)
        if ir != emitted:
            self.ir.write_bytes(ir)
        argv = [*toolchain.compiler(sysroot.root), "-c", str(self.ir), "-o", line.objects[0],
                "-O2" if self.release else "-O1", "-Wno-override-module", *LOWER_EXCEPTIONS]
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            raise ProgramError(f"{toolchain.clang} could not lower the exceptions of {self.source}:\n"
                               f"{(result.stderr or result.stdout).strip()[-4000:]}",
                               hint="link with --no-exceptions, and report the program")
        return replace(line, only_called=only_called(ir))

    def defined_funs(self) -> list[str]:
        """The funs the program defines outside the standard library (cwpkg.crystal.ir.defined_funs)."""
        assert self.ir is not None, "the compilation emitted no IR"
        return defined_funs(self.ir.read_bytes(), self.stdlib_paths)

    def stop(self) -> None:
        """Ends a compilation whose result is no longer wanted (the link failed before it finished)."""
        if self.process.returncode is None:
            self.process.kill()
            self.process.communicate()
