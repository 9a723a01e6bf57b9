"""A Python host for a Crystal plugin: `cwpkg link greeter.cr --reactor`, then `python host.py greeter.wasm`.

The plugin is a WASI reactor: the host instantiates it, calls `_initialize` once (the Crystal runtime
and the program's top-level code), then calls its exported funs as often as it likes. Strings go in
through memory the plugin allocates for the host (`cwpkg_alloc`, `cwpkg_free`) and come out as
pointers to NUL-terminated text, valid until the next call. An exception that escapes a fun does not
kill the instance: the call returns zero and `cwpkg_error` has the exception's text, which this host
raises as PluginError.
"""

from __future__ import annotations

import sys
from pathlib import Path

import wasmtime

CALLS = 200_000  # greet calls: far more garbage than the plugin's memory holds without collections


class PluginError(Exception):
    """An exception that escaped one of the plugin's funs (its message, class and backtrace)."""


class Plugin:
    """A Crystal plugin, instantiated and initialized; call its funs with `plugin.call(name, *args)`."""

    def __init__(self, module: Path, stdout: Path | None = None) -> None:
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [module.name]
        if stdout is None:
            wasi.inherit_stdout()
        else:
            wasi.stdout_file = str(stdout)
        wasi.inherit_stderr()
        self.store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(self.store, wasmtime.Module.from_file(engine, str(module)))
        self.exports = instance.exports(self.store)
        self.memory: wasmtime.Memory = self.exports["memory"]
        self.exports["_initialize"](self.store)
        self._raise_error()

    def call(self, name: str, *args: int | float) -> int | float | None:
        """The fun's result; PluginError if an exception escaped it."""
        result = self.exports[name](self.store, *args)
        self._raise_error()
        return result

    def error(self) -> str | None:
        """The exception that ended the last call, as Crystal describes it, or None."""
        address = self.exports["cwpkg_error"](self.store)
        return self.text(address) if address else None

    def text(self, address: int) -> str:
        """The NUL-terminated text at `address` of the plugin's memory."""
        end = address
        while self.memory.read(self.store, end, end + 1) != b"\0":
            end += 1
        return self.memory.read(self.store, address, end).decode("utf-8")

    def bytes_in(self, data: bytes) -> int:
        """A copy of `data` in the plugin's memory, for a fun to read; give it back with `free`."""
        address = self.exports["cwpkg_alloc"](self.store, max(len(data), 1))  # not a fun: no error to see
        self.memory.write(self.store, data, address)
        return address

    def free(self, address: int) -> None:
        self.exports["cwpkg_free"](self.store, address)

    def memory_size(self) -> int:
        return self.memory.data_len(self.store)

    def _raise_error(self) -> None:
        error = self.error()
        if error is not None:
            raise PluginError(error)


def main(module: Path) -> int:
    """Greets many times, then shows a raise; exit status 1 if memory was not reclaimed or the raise
    did not reach the host."""
    plugin = Plugin(module)
    name = b"Crystal"
    address = plugin.bytes_in(name)
    print(plugin.text(plugin.call("greet", address, len(name))))
    start_memory, start_collections = plugin.memory_size(), plugin.call("collections")
    for _ in range(CALLS):
        plugin.call("greet", address, len(name))
    plugin.free(address)
    grown = plugin.memory_size() - start_memory
    collected = plugin.call("collections") - start_collections
    print(f"{CALLS} greet calls: {plugin.call('greetings')} greetings, memory grew by "
          f"{'less than 1 MiB' if grown < 1 << 20 else f'{grown >> 20} MiB'}, "
          f"{'collections ran' if collected > 0 else 'no collection ran'}")
    try:
        plugin.call("check_age", 200)
        raised = False
    except PluginError as error:
        print(f"check_age(200) raised: {error.args[0].splitlines()[0]}")
        raised = True
    print(f"check_age(30) = {plugin.call('check_age', 30)}")
    return 0 if raised and collected > 0 and grown < 1 << 20 else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
