"""WebAssembly: reading modules and objects, decoding code, running modules under wasmtime, link lines.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "CodeModule": "code",
    "Function": "code",
    "Signature": "code",
    "defined_function_names": "code",
    "function_bodies": "code",
    "function_names": "code",
    "read_code_module": "code",
    "with_code_edits": "code",
    "CallSite": "code",
    "declared_types": "code",
    "forwarder_body": "code",
    "call_instruction": "code",
    "global_names": "code",
    "i32_const": "code",
    "return_if_global_set": "code",
    "with_function_names": "code",
    "without_exports": "code",
    "TIMEOUT_MARKER": "host_command",
    "TIMEOUT_VARIABLE": "host_command",
    "TRAP_MARKER": "host_command",
    "wrapper_script": "host_command",
    "LinkLine": "linkline",
    "STACK_SIZE": "linkline",
    "parse_link_arguments": "linkline",
    "parse_link_line": "linkline",
    "FunctionType": "module",
    "defined_symbols": "module",
    "imports": "module",
    "is_linked_program": "module",
    "is_wasm": "module",
    "object_function_types": "module",
    "ERROR_EXPORT": "runner",
    "INITIALIZE": "runner",
    "Invocation": "runner",
    "RunResult": "runner",
    "run_module": "runner",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
