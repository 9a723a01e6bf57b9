"""cwpkg: builds the C libraries that Crystal programs need as WebAssembly (wasm32-wasi)."""

__version__ = "0.1.0"
