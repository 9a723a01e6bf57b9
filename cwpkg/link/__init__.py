"""Linking: Crystal programs and objects to runnable modules, the wasm-ld shim, files for plain tools, the GC runtime.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "LinkOptions": "driver",
    "LinkResult": "driver",
    "link_program": "driver",
    "plan_libraries": "driver",
    "ProgramOptions": "program",
    "ProgramResources": "program",
    "build_module": "program",
    "render_environment": "tool_files",
    "sysroot_environment": "tool_files",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
