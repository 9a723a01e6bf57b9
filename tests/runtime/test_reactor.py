"""Plugins: `cwpkg link --reactor` makes a WASI reactor whose exported funs a host calls, each inside
cwpkg's runtime, and `cwpkg run --invoke` calls one (cwpkg/link/reactor.py,
patches/crystal/1.6.0/wasm32-reactor.patch; docs/wasm-runtime.md, "Plugins"). The host is the example's
(examples/plugin/host.py); what the calls return is compared with the same calls made natively."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "examples" / "plugin"))

import handbuild  # noqa: E402
from helpers import run_cwpkg  # noqa: E402
from host import Plugin, PluginError  # noqa: E402

from cwpkg.wasm.module import function_exports  # noqa: E402

PROGRAMS = Path(__file__).parent / "crystal"

pytestmark = pytest.mark.slow


def plugin_module(name: str, out: Path, env: dict[str, str], *flags: str) -> Path:
    module = out / f"{name}.wasm"
    result = run_cwpkg("link", str(PROGRAMS / f"{name}.cr"), "--reactor", *flags, "-o", str(module), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return module


@pytest.fixture(scope="module")
def plugin(tmp_path_factory, gc: handbuild.Bdwgc, full_sysroot: dict[str, str]) -> Path:
    return plugin_module("plugin", tmp_path_factory.mktemp("plugin"), full_sysroot)


def native(name: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(handbuild.native_executable(PROGRAMS / f"{name}.cr"))], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


def _show(lines: list[str], plugin: Plugin, label: str, name: str, *args, text: bool = False) -> None:
    """What plugin.cr's native `show` prints for the call: its result, or the exception that escaped."""
    try:
        result = plugin.call(name, *args)
        lines.append(f"= {label}: {plugin.text(result) if text else result}")
    except PluginError as error:
        lines.append(f"= {label}: raised {error.args[0].splitlines()[0]}")


def test_exported_calls_return_and_raise_what_the_same_calls_do_natively(plugin: Path, tmp_path: Path) -> None:
    """Integers, floats, a string in and out, an overflow and an ArgumentError that reach the host as
    errors (the instance goes on), fibers and a rescue inside one call, the top-level code run once in
    _initialize, and standard output flushed when each call returns."""
    stdout = tmp_path / "stdout"
    host = Plugin(plugin, stdout=stdout)
    lines: list[str] = []
    _show(lines, host, "add 2 3", "add", 2, 3)
    _show(lines, host, "add max 1", "add", 2**31 - 1, 1)
    _show(lines, host, "scale", "scale", 4.0, 2.5)
    _show(lines, host, "fail 0", "fail", 0)
    _show(lines, host, "fail 7", "fail", 7)
    name = host.bytes_in(b"ada,grace")
    _show(lines, host, "greet", "greet", name, 9, text=True)
    host.free(name)
    _show(lines, host, "fiber_sum 50", "fiber_sum", 50)
    _show(lines, host, "rescued_inside 3", "rescued_inside", 3)
    host.call("print_line", 5)
    printed_before_the_last_call = stdout.read_text()
    _show(lines, host, "add 1 1", "add", 1, 1)

    expected = native("plugin")
    assert expected.returncode == 0, expected.stderr
    assert lines == [line for line in expected.stdout.splitlines() if line.startswith("= ")]
    assert printed_before_the_last_call.splitlines() == [line for line in expected.stdout.splitlines()
                                                         if not line.startswith("= ")]
    error = host.exports["cwpkg_error"]
    with pytest.raises(PluginError) as raised:
        host.call("fail", 9)
    assert raised.value.args[0].splitlines()[1:] == ["  from plugin.wasm in 'fail'"]  # no thunk of cwpkg's
    host.call("fail", 0)
    assert error(host.store) == 0  # a call that returns clears the error


def test_many_calls_collect_and_keep_memory_bounded(plugin: Path) -> None:
    """Each call runs in a bottom frame of the runtime, so collections happen inside calls: 30,000
    greetings allocate far more than the plugin's memory grows by."""
    host = Plugin(plugin)
    name = host.bytes_in(b"ada,grace,barbara")
    collections, memory = host.call("collections"), host.memory_size()
    for _ in range(30_000):
        host.call("greet", name, 17)
    assert host.call("collections") > collections + 10
    assert host.memory_size() - memory < 1 << 20


def test_a_call_before_initialize_is_an_error_not_a_trap(plugin: Path) -> None:
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    exports = linker.instantiate(store, wasmtime.Module.from_file(engine, str(plugin))).exports(store)
    assert exports["add"](store, 1, 2) == 0
    address = exports["cwpkg_error"](store)
    message = b"the host called a function of the plugin before _initialize\0"
    assert address and exports["memory"].read(store, address, address + len(message)) == message
    exports["_initialize"](store)
    assert exports["add"](store, 1, 2) == 3 and exports["cwpkg_error"](store) == 0


def test_cwpkg_run_invoke_prints_the_result_or_the_exception(plugin: Path, full_sysroot: dict[str, str]) -> None:
    added = run_cwpkg("run", str(plugin), "--invoke", "add", "40", "2", env=full_sysroot)
    assert (added.returncode, added.stdout) == (0, "plugin ready\n42\n"), added.stderr  # the top level's line first
    scaled = run_cwpkg("run", "--invoke", "scale", str(plugin), "4", "2.5", env=full_sysroot)
    assert (scaled.returncode, scaled.stdout) == (0, "plugin ready\n10.0\n"), scaled.stderr
    failed = run_cwpkg("run", str(plugin), "--invoke", "fail", "7", env=full_sysroot)
    assert failed.returncode == 1 and failed.stdout == "plugin ready\n"
    assert "fail raised: bad code 7 (ArgumentError)\n  from plugin.wasm in 'fail'" in failed.stderr
    for args, message in [(["add", "1"], "it takes 2 argument(s), add(i32, i32); 1 given"),
                          (["add", "x", "1"], "'x' is not an integer"),
                          (["add", "4294967296", "1"], "4294967296 does not fit in i32"),
                          (["nope"], "exports no function nope")]:
        refused = run_cwpkg("run", str(plugin), "--invoke", *args, env=full_sysroot)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
    command = run_cwpkg("run", str(plugin), env=full_sysroot)
    assert command.returncode == 2 and "is a plugin (a WASI reactor): it has no main to run" in command.stderr


def test_an_initialization_that_raises_fails_every_call(tmp_path: Path, gc: handbuild.Bdwgc,
                                                        full_sysroot: dict[str, str]) -> None:
    module = plugin_module("plugin_init_raises", tmp_path, full_sysroot, "--export", "answer")
    # exactly the plugin's API: not Binaryen's asyncify_* functions, which a host must not call
    assert function_exports(module) == {"_initialize", "answer", "cwpkg_error", "cwpkg_alloc", "cwpkg_free"}
    expected = native("plugin_init_raises")
    assert expected.returncode == 1 and expected.stdout == "starting\n"
    exception = expected.stderr.splitlines()[0].removeprefix("Unhandled exception: ")
    result = run_cwpkg("run", str(module), "--invoke", "answer", env=full_sysroot)
    assert result.returncode == 1 and result.stdout == "starting\n"
    assert f"answer raised: the plugin's initialization raised: {exception}" in result.stderr


def test_export_names_the_program_does_not_define_are_refused(tmp_path: Path, gc: handbuild.Bdwgc,
                                                              full_sysroot: dict[str, str]) -> None:
    source = PROGRAMS / "plugin.cr"
    result = run_cwpkg("link", str(source), "--reactor", "--export", "add", "--export", "subtract",
                       "-o", str(tmp_path / "p.wasm"), env=full_sysroot)
    assert result.returncode == 2 and not (tmp_path / "p.wasm").exists()
    assert f"--export subtract: {source} defines no fun subtract (it defines: add, scale, fail, greet" in result.stderr
