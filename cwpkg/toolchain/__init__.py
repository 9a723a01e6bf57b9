"""The toolchain: finding clang/wasm-ld (system LLVM or a wasi-sdk), prebuilt toolchains, other tools, Binaryen.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "ASYNCIFY_EXPORTS": "binaryen",
    "ASYNCIFY_MODULE": "binaryen",
    "INSTALL_HINT": "binaryen",
    "find_wasm_opt": "binaryen",
    "run_wasm_opt": "binaryen",
    "wasm_opt_arguments": "binaryen",
    "DEFAULT_TARGET": "targets",
    "TARGETS": "targets",
    "TARGET_VARIABLE": "targets",
    "library_dir": "targets",
    "requested_target": "targets",
    "Toolchain": "detect",
    "detect_toolchain": "detect",
    "install_toolchain": "prebuilt",
    "load_toolchain_recipe": "prebuilt",
    "keep_new_answers": "probe_memo",
    "remembered": "probe_memo",
    "find_executable": "tools",
    "run_tool": "tools",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
