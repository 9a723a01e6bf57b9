"""Builds C and Crystal programs with cwpkg's wasm32 runtime, for tests/runtime and bench/gc_runtime.py.

The runtime comes from the sysroot ($CWPKG_SYSROOT, else sysroot/ of this checkout), where
`cwpkg install cwpkg-rt` put it with bdwgc. Crystal programs are compiled as `cwpkg link` compiles
them (cwpkg.crystal, the compat patches, -Dcwpkg_runtime), C programs with the sysroot's compiler
line; `build` links through cwpkg's link driver, which adds the runtime and instruments the module.
`link` is a plain wasm-ld link without the runtime, for the comparisons that need one (plain bdwgc,
gc/none) and for bench/gc_runtime.py's variants of the Asyncify step.

To build one program by hand, use `cwpkg link` (`--asyncify-asserts` for the checked build).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from cwpkg.crystal import CrystalCompilation, compat_stdlib, find_crystal  # noqa: E402
from cwpkg.link.driver import LinkOptions, link_program  # noqa: E402
from cwpkg.link.runtime import STACK_SIZE, Instrumented, wrap_flags  # noqa: E402
from cwpkg.places import cache_dir  # noqa: E402
from cwpkg.recipes import RecipeBook  # noqa: E402
from cwpkg.sysroot import Sysroot, open_sysroot  # noqa: E402
from cwpkg.toolchain import detect_toolchain  # noqa: E402
from cwpkg.wasm import parse_link_arguments  # noqa: E402

LLVM = Path(os.environ.get("CWPKG_TOOLCHAIN", "/usr/lib/llvm-19"))
BUILTINS = next(LLVM.glob("lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"))
# Libraries a sysroot library needs after it on a static link line (as their recipes' dependencies say).
LIBRARY_DEPENDENCIES = {"xml2": ["z", "m"]}
WORK = Path(os.environ.get("CWPKG_RT_WORK", "/tmp/cwpkg-rt-work"))


def sysroot() -> Sysroot:
    """The sysroot cwpkg would use here, read when asked (tests choose theirs by CWPKG_SYSROOT)."""
    return open_sysroot(None, REPO)


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
    """bdwgc as the sysroot has it (with patches/bdwgc/*.patch, as recipes/bdwgc.yaml builds it)."""

    library: Path
    include: Path


def bdwgc() -> Bdwgc:
    installed = sysroot()
    if not (installed.lib_dir / "libcwpkg_rt.a").is_file():
        raise RuntimeError(f"cwpkg's runtime is not installed in {installed.root}: run `cwpkg install cwpkg-rt`")
    return Bdwgc(installed.lib_dir / "libgc.a", installed.root / "include")


def runtime(gc: Bdwgc) -> Path:
    """libcwpkg_rt.a, beside the bdwgc it was built against."""
    return gc.library.with_name("libcwpkg_rt.a")


@dataclass
class Program:
    objects: list[Path]
    libraries: list[str] = field(default_factory=list)  # -lNAME names, besides libgc
    crystal: bool = False
    compile_seconds: float = 0.0


def compile_c(source: Path, gc: Bdwgc, out: Path, flags: tuple[str, ...] = ()) -> Program:
    obj = out / (source.stem + ".o")
    started = time.perf_counter()
    run([*detect_toolchain().compiler(sysroot().root), "-O2", f"-I{gc.include}", *flags, "-c", str(source),
         "-o", str(obj)])
    return Program([obj], ["gc"], compile_seconds=time.perf_counter() - started)


_COMPILED: dict[tuple[Path, tuple[str, ...], bool, bool, Path], Program] = {}


def compile_crystal(source: Path, out: Path, flags: tuple[str, ...] = (), release: bool = False,
                    gc: bool = True) -> Program:
    """`crystal build --cross-compile` as `cwpkg link` runs it (the compat patches, -Dcwpkg_runtime: the
    boehm collector); without gc, the gc/none build (-Dgc_none). A program compiled once in this process
    (for the same sysroot) is not compiled again: its objects stay where the first call put them."""
    key = (source, flags, release, gc, sysroot().root)
    if key not in _COMPILED:
        _COMPILED[key] = _compile_crystal(source, out, flags, release, gc)
    return _COMPILED[key]


def _compile_crystal(source: Path, out: Path, flags: tuple[str, ...], release: bool, gc: bool) -> Program:
    stem = source.stem + ("" if gc else "-none") + ("-release" if release else "")
    objects = out / f"objects-{stem}"
    objects.mkdir(exist_ok=True)
    compiler = find_crystal()
    stdlib = compat_stdlib(compiler, REPO, cache_dir())
    started = time.perf_counter()
    compilation = CrystalCompilation(compiler, stdlib, source, objects, sysroot(), release,
                                     [*flags, *([] if gc else ["-Dgc_none"])])
    line = compilation.link_line()
    libraries = [name for name in line.libraries if name != "c"]
    return Program([Path(obj) for obj in line.objects], libraries, True, time.perf_counter() - started)


def link(program: Program, output: Path, gc: Bdwgc | None, runtime_library: Path | None,
         stack_size: int = STACK_SIZE) -> float:
    """A plain wasm-ld link, not cwpkg's: with gc, the sysroot's libgc (for -lgc, or for a C program);
    with runtime_library too, the runtime and its wraps, but no Asyncify step (bench/gc_runtime.py runs
    its variants). Returns the seconds it took."""
    libdir = sysroot().lib_dir
    libraries = [name for name in program.libraries if name != "gc"]
    for name in program.libraries:
        libraries += LIBRARY_DEPENDENCIES.get(name, [])
    argv = [tool("wasm-ld")]
    if not program.crystal:
        argv.append(str(libdir / "crt1-command.o"))
    argv += [*map(str, program.objects), "-o", str(output), "-L", str(libdir), "-z", f"stack-size={stack_size}"]
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


def build(program: Program, output: Path, optimize: bool = False, asserts: bool = False,
          stack_size: int = STACK_SIZE, fiber_stack_size: int | None = None) -> Built:
    """Links `program` with cwpkg's link driver, which adds the runtime and instruments the module when
    the program links libgc."""
    started = time.perf_counter()
    arguments = [*map(str, program.objects), *(f"-l{name}" for name in program.libraries)]
    result = link_program(detect_toolchain(), sysroot(), RecipeBook(REPO), parse_link_arguments(arguments), output,
                          LinkOptions(optimize=optimize, asyncify_asserts=asserts, stack_size=stack_size,
                                      fiber_stack_size=fiber_stack_size), _quiet)
    return Built(output, time.perf_counter() - started, result.instrumented)


def _quiet(message: str) -> None:
    if message.startswith("wasm-ld:"):
        print(message, file=sys.stderr)


@dataclass(frozen=True)
class Ran:
    status: int  # the exit status; 134 for a trap
    stdout: str
    stderr: str
    trap: str | None
    memory: int  # bytes of linear memory when the program ended: its peak (memory never shrinks)
    seconds: float  # CPU time of the run


def execute(module: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None,
            directory: Path | None = None, stack: int = 2 << 20, stdin: Path | None = None) -> Ran:
    """Runs a command module under wasmtime in this process, `directory` preopened as ".", reading
    `stdin` (else nothing)."""
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
        if stdin is not None:
            wasi.stdin_file = str(stdin)
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


def native_executable(source: Path, work: Path = WORK) -> Path:
    """The program built natively (the installed compiler, its own standard library, the host's
    libraries), kept in `work` under the source's digest."""
    target = work / "native" / f"{source.stem}-{_digest([source])}"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(f".{target.name}.{os.getpid()}")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("CRYSTAL_", "PKG_CONFIG"))}
        run(["crystal", "build", "--no-color", str(source), "-o", str(scratch)], cwd=target.parent, env=env)
        scratch.rename(target)
    return target


def native_output(source: Path, args: tuple[str, ...] = (), work: Path = WORK, status: int = 0,
                  stdin: Path | None = None) -> str:
    """What the program prints when built and run natively: the reference every wasm32 output is
    compared with. The run is in a scratch directory, reads `stdin` (else nothing) and must end with
    `status`."""
    target = native_executable(source, work)
    with tempfile.TemporaryDirectory(prefix="cwpkg-rt-native-") as directory:
        with open(stdin or os.devnull, "rb") as feed:
            result = subprocess.run([str(target), *args], cwd=directory, stdin=feed, capture_output=True)
    if result.returncode != status:
        raise RuntimeError(f"the native build of {source.name} failed ({result.returncode}): "
                           f"{result.stderr.decode(errors='replace')[-2000:]}")
    return result.stdout.decode(errors="replace")
