"""Files: atomic writes, digests, deterministic archives, safe unpacking, paths inside a tree.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "SOURCE_DATE_EPOCH": "archive",
    "archive_bytes": "archive",
    "write_archive": "archive",
    "TEMPORARY_SUFFIX": "atomic",
    "atomic_output": "atomic",
    "copy_atomically": "atomic",
    "json_text": "atomic",
    "write_json_atomically": "atomic",
    "write_text_atomically": "atomic",
    "file_sha256": "digest",
    "value_sha256": "digest",
    "is_clean_relative": "tree_paths",
    "resolve_inside": "tree_paths",
    "unpack": "unpacking",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
