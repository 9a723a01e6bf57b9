"""The binding check: Crystal lib declarations against the sysroot's C headers, as WebAssembly sees them.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "check_bindings": "check",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
