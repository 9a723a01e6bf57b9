"""Reproducibility: the lockfile, locking and verifying against it, bundles, CI templates.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "install_bundle": "bundle",
    "write_bundle": "bundle",
    "TEMPLATES": "ci_template",
    "LOCK_NAME": "lockfile",
    "read_lock": "lockfile",
    "write_lock": "lockfile",
    "installed_lock_entries": "locking",
    "lock_problems": "locking",
    "locked_archives": "locking",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
