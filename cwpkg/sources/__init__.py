"""Sources: the verified source cache, downloads, the Debian archive fallback, patching, the binary cache.

What other stages use, each imported from its module when first asked for.
"""

from cwpkg.front_door import front_door

OFFERS = {
    "BinaryCache": "binary_cache",
    "binary_cache_from_environment": "binary_cache",
    "verified_archive": "binary_cache",
    "SourceCache": "cache",
    "fetch_unpacked": "cache",
    "Downloader": "download",
    "apply_patch": "patching",
}
__getattr__, __dir__ = front_door(__name__, OFFERS)
__all__ = sorted(OFFERS)
