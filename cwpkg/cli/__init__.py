"""The command line: the parser, the shared context, and one module per group of commands.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
