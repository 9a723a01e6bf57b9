"""Builds and links programs with cwpkg's wasm32 runtime by hand, until `cwpkg link` does it.

What the integration will do through recipes and the link driver (docs/wasm-runtime.md, "Integration"),
done here with the toolchain directly in a work directory:

- bdwgc 8.2.2 from the cached source tarball with patches/bdwgc/*.patch, configured as
  recipes/bdwgc.yaml configures it, at -O2; `make check TESTS=` builds the upstream tests' objects;
- libcwpkg_rt.a by runtime/Makefile, against that bdwgc's headers;
- the Crystal standard library with patches/crystal/<version>/*.patch;
- programs compiled (clang, or `crystal build --cross-compile`), linked with wasm-ld (never through
  clang, which would run wasm-opt and drop the name section), and instrumented by
  cwpkg.link.runtime.instrument.

Used by tests/runtime/ and bench/gc_runtime.py; `python tests/runtime/handbuild.py PROGRAM.cr|.c` builds
one program and prints the module's path.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from cwpkg.wasm.linkline import parse_link_line  # noqa: E402
from cwpkg.sources.patching import apply_patch  # noqa: E402
from cwpkg.link.runtime import OPTIMIZATION, STACK_SIZE, Instrumented, instrument, wrap_flags  # noqa: E402

LLVM = Path(os.environ.get("CWPKG_TOOLCHAIN", "/usr/lib/llvm-19"))
SYSROOT = Path(os.environ.get("CWPKG_SYSROOT", REPO / "sysroot"))
LIBDIR = SYSROOT / "lib" / "wasm32-wasi"
BUILTINS = next(LLVM.glob("lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"))
CACHE = Path(os.environ.get("CWPKG_CACHE", Path.home() / ".cache" / "cwpkg"))
BDWGC_SHA256 = "f30107bcb062e0920a790ffffa56d9512348546859364c23a14be264b38836a0"
BDWGC_PATCHES = [REPO / "patches" / "bdwgc" / "wasi-port.patch", REPO / "runtime" / "pending" / "wasi-collection-gate.patch",
                 REPO / "runtime" / "pending" / "wasi-clear-stack.patch"]
BDWGC_CONFIGURE = ["--disable-threads", "--disable-parallel-mark", "--disable-handle-fork", "--disable-gcj-support",
                   "--disable-java-finalization", "--disable-docs", "--with-libatomic-ops=none",
                   "--enable-cplusplus=no"]
# Libraries a sysroot library needs after it on a static link line (as their recipes' dependencies say).
LIBRARY_DEPENDENCIES = {"xml2": ["z", "m"]}
CRYSTAL_TARGET = "wasm32-unknown-wasi"
WORK = Path(os.environ.get("CWPKG_RT_WORK", "/tmp/cwpkg-rt-work"))


def tool(name: str) -> str:
    return str(LLVM / "bin" / name)


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}... failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return result.stdout


def _digest(paths: list[Path], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Bdwgc:
    tree: Path  # the configured and built source tree

    @property
    def library(self) -> Path:
        return self.tree / ".libs" / "libgc.a"

    @property
    def include(self) -> Path:
        return self.tree / "include"


def bdwgc(work: Path = WORK) -> Bdwgc:
    """bdwgc built with the recipe's options and this checkout's patches (made once per patch set)."""
    patches = BDWGC_PATCHES
    target = work / f"bdwgc-{_digest(patches)}"
    tree = target / "gc-8.2.2"
    if not (tree / ".libs" / "libgc.a").is_file() or not (tree / "tests" / "test.o").is_file():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = next((CACHE / "sources" / BDWGC_SHA256).glob("*.tar.gz"))
        run(["tar", "xzf", str(archive), "-C", str(target)])
        for patch in patches:
            apply_patch(tree, patch, f"bdwgc/{patch.name}")
        for helper in ("config.sub", "config.guess"):
            shutil.copy(f"/usr/share/misc/{helper}", tree / helper)
        compiler = f"{tool('clang')} --target=wasm32-wasi --sysroot={SYSROOT}"
        env = {**os.environ, "CC": compiler, "CFLAGS": "-O2", "AR": tool("llvm-ar"), "RANLIB": tool("llvm-ranlib"),
               "NM": tool("llvm-nm"), "CONFIG_SITE": "/dev/null"}
        run([str(tree / "configure"), "--host=wasm32-wasi", "--prefix=/wasi-sysroot", "--disable-shared",
             "--enable-static", *BDWGC_CONFIGURE], cwd=tree, env=env)
        run(["make", f"-j{os.cpu_count() or 2}"], cwd=tree, env=env)
        run(["make", f"-j{os.cpu_count() or 2}", "check", "TESTS="], cwd=tree, env=env)
    return Bdwgc(tree)


def runtime(gc: Bdwgc, work: Path = WORK, optimization: str = "-O2") -> Path:
    """libcwpkg_rt.a, made by runtime/Makefile out of the tree, against gc's headers."""
    sources = sorted((REPO / "runtime").glob("*.[ch]")) + [REPO / "runtime" / "Makefile"]
    target = work / f"runtime-{_digest(sources, str(gc.tree) + optimization)}"
    library = target / "libcwpkg_rt.a"
    if not library.is_file():
        target.mkdir(parents=True, exist_ok=True)
        run(["make", "-s", "-C", str(target), "-f", str(REPO / "runtime" / "Makefile"), f"VPATH={REPO / 'runtime'}",
             f"CC={tool('clang')} --target=wasm32-wasi --sysroot={SYSROOT} -I{gc.include} -Werror",
             f"AR={tool('llvm-ar')}", f"CFLAGS={optimization}"])
    return library


def crystal_stdlib(work: Path = WORK) -> Path:
    """The installed compiler's standard library with patches/crystal/<version>/*.patch, in name order."""
    version = run(["crystal", "env", "CRYSTAL_VERSION"]).strip()
    stdlib = Path(run(["crystal", "env", "CRYSTAL_PATH"]).strip().split(":")[-1])
    patches = sorted((REPO / "patches" / "crystal" / version).glob("*.patch")) + sorted(
        (REPO / "runtime" / "pending").glob(f"crystal-{version}-*.patch"))
    target = work / f"crystal-{version}-{_digest(patches)}"
    if not target.is_dir():
        scratch = work / f".making-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(stdlib, scratch, symlinks=True)
        for patch in patches:
            apply_patch(scratch, patch, patch.name)
        scratch.rename(target)
    return target


@dataclass
class Program:
    objects: list[Path]
    libraries: list[str] = field(default_factory=list)  # -lNAME names, besides libgc
    crystal: bool = False
    compile_seconds: float = 0.0


def compile_c(source: Path, gc: Bdwgc, out: Path, flags: tuple[str, ...] = ()) -> Program:
    obj = out / (source.stem + ".o")
    started = time.perf_counter()
    run([tool("clang"), "--target=wasm32-wasi", f"--sysroot={SYSROOT}", "-O2", f"-I{gc.include}", *flags, "-c",
         str(source), "-o", str(obj)])
    return Program([obj], compile_seconds=time.perf_counter() - started)


def compile_crystal(source: Path, out: Path, flags: tuple[str, ...] = (), release: bool = False,
                    gc: bool = True) -> Program:
    """`crystal build --cross-compile` with the patched standard library; with gc, for the runtime
    (-Dcwpkg_runtime: the boehm collector), else the gc/none build."""
    stem = source.stem + ("" if gc else "-none") + ("-release" if release else "")
    objects = out / "objects"
    objects.mkdir(exist_ok=True)
    env = {**os.environ, "CRYSTAL_PATH": f"{crystal_stdlib()}:lib", "CRYSTAL_LIBRARY_PATH": str(LIBDIR),
           "PKG_CONFIG_LIBDIR": str(SYSROOT / "lib" / "pkgconfig")}
    started = time.perf_counter()
    printed = run(["crystal", "build", "--cross-compile", "--no-color", "--target", CRYSTAL_TARGET, str(source),
                   "-o", str(objects / stem), *(["--release"] if release else []),
                   *(["-Dcwpkg_runtime"] if gc else []), *flags], cwd=objects, env=env)
    line = parse_link_line(printed)
    libraries = [name for name in line.libraries if name != "c"]
    return Program([objects / obj for obj in line.objects], libraries, True, time.perf_counter() - started)


def link(program: Program, output: Path, gc: Bdwgc | None, runtime_library: Path | None,
         stack_size: int = STACK_SIZE) -> float:
    """wasm-ld as `cwpkg link` runs it; with gc, the libgc built here (for -lgc, or for a C program
    always); with runtime_library too, the runtime and its wraps. Returns the seconds it took."""
    libraries = [name for name in program.libraries if name != "gc"]
    for name in program.libraries:
        libraries += LIBRARY_DEPENDENCIES.get(name, [])
    argv = [tool("wasm-ld")]
    if not program.crystal:
        argv.append(str(LIBDIR / "crt1-command.o"))
    argv += [*map(str, program.objects), "-o", str(output), "-L", str(LIBDIR), "-z", f"stack-size={stack_size}"]
    if runtime_library is not None and gc is not None:
        argv += [str(runtime_library), *wrap_flags(runtime_library)]
    if gc is not None:
        argv.append(str(gc.library))
    elif "gc" in program.libraries:
        raise ValueError("the program links libgc: give the bdwgc to link")
    argv += [f"-l{name}" for name in dict.fromkeys(libraries)] + ["-lc", str(BUILTINS)]
    started = time.perf_counter()
    run(argv)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Built:
    module: Path
    link_seconds: float
    instrumented: Instrumented | None


def build(program: Program, output: Path, gc: Bdwgc | None, runtime_library: Path | None,
          optimize: str | None = OPTIMIZATION, asserts: bool = False, stack_size: int = STACK_SIZE) -> Built:
    """Links `program` into `output`; with the runtime, instruments it with Asyncify."""
    if runtime_library is None or gc is None:
        seconds = link(program, output, gc, None, stack_size)
        return Built(output, seconds, None)
    linked = output.with_suffix(".linked.wasm")
    seconds = link(program, linked, gc, runtime_library, stack_size)
    done = instrument(linked, output, gc.library, runtime_library, optimize=optimize, asserts=asserts)
    return Built(output, seconds, done)


@dataclass(frozen=True)
class Ran:
    status: int  # the exit status; 134 for a trap
    stdout: str
    stderr: str
    trap: str | None
    memory: int  # bytes of linear memory when the program ended: its peak (memory never shrinks)
    seconds: float  # CPU time of the run


def execute(module: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None,
            directory: Path | None = None, stack: int = 2 << 20) -> Ran:
    """Runs a command module under wasmtime in this process, `directory` preopened as "."."""
    import tempfile

    import wasmtime

    config = wasmtime.Config()
    config.max_wasm_stack = stack
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    with tempfile.TemporaryDirectory(prefix="cwpkg-rt-run-") as scratch:
        wasi = wasmtime.WasiConfig()
        wasi.argv = [module.name, *args]
        wasi.env = sorted((env or {}).items())
        wasi.preopen_dir(str(directory or scratch), ".")
        wasi.stdout_file = f"{scratch}/stdout"
        wasi.stderr_file = f"{scratch}/stderr"
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(module)))
        status, trap = 0, None
        started = time.process_time()
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as stop:
            status = stop.code
        except wasmtime.Trap as failure:
            status, trap = 134, str(failure).strip().splitlines()[-1]
        seconds = time.process_time() - started
        memory = instance.exports(store)["memory"].size(store) * 65536
        return Ran(status, Path(scratch, "stdout").read_text(errors="replace"),
                   Path(scratch, "stderr").read_text(errors="replace"), trap, memory, seconds)


def native_output(source: Path, args: tuple[str, ...] = (), work: Path = WORK, status: int = 0) -> str:
    """What the program prints when built and run natively (the installed compiler, its own standard
    library, the host's libraries): the reference every wasm32 output is compared with. The native
    executable is kept in `work`, named after the source's digest; the run is in a scratch directory and
    must end with `status`."""
    import tempfile

    target = work / "native" / f"{source.stem}-{_digest([source])}"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(f".{target.name}.{os.getpid()}")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("CRYSTAL_", "PKG_CONFIG"))}
        run(["crystal", "build", "--no-color", str(source), "-o", str(scratch)], cwd=target.parent, env=env)
        scratch.rename(target)
    with tempfile.TemporaryDirectory(prefix="cwpkg-rt-native-") as directory:
        result = subprocess.run([str(target), *args], cwd=directory, capture_output=True, text=True)
    if result.returncode != status:
        raise RuntimeError(f"the native build of {source.name} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--none", action="store_true", help="the gc/none build (Crystal), without the runtime")
    parser.add_argument("--release", action="store_true")
    parser.add_argument("--asserts", action="store_true", help="an asyncify-asserts build")
    parser.add_argument("--optimize", default=OPTIMIZATION, help=f"wasm-opt's level with Asyncify ({OPTIMIZATION})")
    options, extra = parser.parse_known_args()
    out = (options.output or Path.cwd() / options.source.with_suffix(".wasm").name).resolve()
    gc = bdwgc()
    library = runtime(gc)
    if options.source.suffix == ".cr":
        program = compile_crystal(options.source.resolve(), out.parent, tuple(extra), options.release, not options.none)
    else:
        program = compile_c(options.source.resolve(), gc, out.parent, tuple(extra))
    built = build(program, out, None if options.none else gc, None if options.none else library,
                  options.optimize or None, options.asserts)
    print(built.module)
    if built.instrumented:
        paths = built.instrumented.paths
        print(f"instrumented {paths.count} of {paths.defined} functions; analysis "
              f"{built.instrumented.analysis_seconds:.2f} s, wasm-opt {built.instrumented.wasm_opt_seconds:.2f} s",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
