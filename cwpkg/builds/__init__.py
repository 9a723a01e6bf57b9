"""Builds: one package from source to archive (environment, build kinds, staging, identity), the SCons engine, install.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "BuildInputs": "identity",
    "plan_build_inputs": "identity",
    "install_packages": "install",
    "remove_tree": "kept",
    "take_tree": "kept",
    "cmake_toolchain": "kinds",
    "BuildTree": "package",
    "PackageBuild": "package",
    "run_logged": "package",
    "work_directory": "package",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
