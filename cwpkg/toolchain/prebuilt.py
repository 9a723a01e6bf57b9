"""Prebuilt toolchains (`toolchains/NAME.yaml`): fetched, verified and unpacked into the cache.

For users whose system has no LLVM with wasm32 support: `cwpkg toolchain --install wasi-sdk` gets
the release for this host and says which WASI_SDK_PATH to set. Detection itself never downloads.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from pathlib import Path

from cwpkg.errors import UsageError
from cwpkg.names import NAME_RE, SHA256_RE, VERSION_RE
from cwpkg.recipes import FieldReader, Source, load_yaml
from cwpkg.sources import SourceCache, fetch_unpacked
from cwpkg.toolchain.targets import TARGETS


@dataclass(frozen=True)
class ToolchainRecipe:
    name: str
    version: str
    summary: str
    path: Path
    host: str
    sources: tuple[Source, ...]  # the download for `host`
    targets: tuple[str, ...]  # the targets whose compiler-rt builtins the release ships, preferred first


def host_platform() -> str:
    """The name wasi-sdk releases use for this machine, e.g. x86_64-linux or arm64-macos."""
    machine = {"aarch64": "arm64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine().lower())
    system = {"darwin": "macos"}.get(platform.system().lower(), platform.system().lower())
    return f"{machine}-{system}"


def load_toolchain_recipe(root: Path, name: str, host: str | None = None) -> ToolchainRecipe:
    path = root / "toolchains" / f"{name}.yaml"
    available = sorted(p.stem for p in (root / "toolchains").glob("*.yaml"))
    if not path.is_file():
        raise UsageError(f"no toolchain recipe named {name!r}", hint=f"known: {', '.join(available) or '(none)'}")
    document = load_yaml(path)
    reader = FieldReader(path)
    top = reader.mapping(document, "", allowed={"name", "version", "summary", "license", "homepage", "notes",
                                                "targets", "downloads"},
                         required={"name", "version", "summary", "license", "homepage", "targets", "downloads"})
    if reader.text(top["name"], "name", NAME_RE) != name:
        raise reader.fail("name", f"must match the file name {path.name!r}")
    downloads = reader.mapping(top["downloads"], "downloads", allowed=set(top["downloads"] or {}), required=set())
    host = host or host_platform()
    if host not in downloads:
        raise UsageError(f"{path}: no {name} download for this machine ({host})",
                         hint=f"available for: {', '.join(sorted(downloads))}")
    entry = reader.mapping(downloads[host], f"downloads.{host}", allowed={"url", "sha256"}, required={"url", "sha256"})
    source = Source(sha256=reader.text(entry["sha256"], f"downloads.{host}.sha256", SHA256_RE),
                    url=reader.text(entry["url"], f"downloads.{host}.url"))
    targets = reader.strings(top["targets"], "targets", re.compile("|".join(map(re.escape, TARGETS))))
    if not targets:
        raise reader.fail("targets", f"must name at least one of {', '.join(TARGETS)}")
    return ToolchainRecipe(name=name, version=reader.text(top["version"], "version", VERSION_RE),
                           summary=reader.text(top["summary"], "summary"), path=path, host=host, sources=(source,),
                           targets=targets)


def install_toolchain(recipe: ToolchainRecipe, cache: SourceCache, say) -> Path:
    """Unpacks the toolchain into the cache (once) and returns its directory."""
    return fetch_unpacked(cache, recipe, cache.root / "toolchains" / f"{recipe.name}-{recipe.version}-{recipe.host}", say)
