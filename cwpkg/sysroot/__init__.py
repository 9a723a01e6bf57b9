"""The sysroot: its layout and location, installed packages and their manifests, transactions, integrity.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "file_problems": "integrity",
    "INCLUDE_DIR": "layout",
    "MANIFESTS_DIR": "layout",
    "PKG_CONFIG_DIR": "layout",
    "STATE_DIR": "layout",
    "check_output_path": "location",
    "open_sysroot": "location",
    "Manifest": "manifest",
    "manifest_from_json": "manifest",
    "Sysroot": "sysroot",
    "entry_digest": "sysroot",
    "tree_files": "sysroot",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
