"""Recipe files (`recipes/NAME.yaml`): loading and strict validation.

Every error names the file, the key and what is wrong; unknown keys are errors, because a
misspelled key that is silently ignored builds something other than what the author meant.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cwpkg.fs import archive_bytes
from cwpkg.names import NAME_RE, SHA256_RE, VERSION_RE, is_http_url
from cwpkg.recipes.fields import FieldReader, load_yaml
from cwpkg.recipes.suite_section import Suite, parse_suite

BUILD_KINDS = ("autotools", "cmake", "make", "scons")

# Placeholders that build arguments and environment values may use; see builds/environment.py.
PLACEHOLDERS = frozenset(
    {"clang", "ar", "ranlib", "nm", "wasm_ld", "cflags", "sysroot", "stage", "destdir", "prefix", "jobs", "src",
     "target", "lib_dir"}
)

# A make build may run a configure script of another name (OpenSSL's Configure): a file in the source tree.
DEFAULT_CONFIGURE_SCRIPT = "configure"
CONFIGURE_SCRIPT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

TEST_PLACEHOLDERS = frozenset({"sysroot"})  # test.cflags may name the sysroot's directories

LIB_RE = re.compile(r"[A-Za-z0-9_+.-]+")


@dataclass(frozen=True)
class Source:
    """One alternative place to get a package's source archive."""

    sha256: str
    url: str | None = None  # a full http(s) URL
    debian: str | None = None  # a path inside the Debian archive, e.g. pool/main/...
    local: Path | None = None  # a directory of the recipe checkout, packed as a deterministic tar.gz

    @property
    def filename(self) -> str:
        if self.local is not None:
            return f"{self.local.name}.tar.gz"
        location = self.url if self.url is not None else self.debian
        assert location is not None
        return PurePosixPath(location.split("?", 1)[0]).name

    @property
    def description(self) -> str:
        if self.local is not None:
            return f"local:{self.local.name}"
        return self.url if self.url is not None else f"debian:{self.debian}"

    def local_archive(self) -> bytes:
        """A local source's archive as it is now (its sha256 is the source's while the directory is unchanged)."""
        assert self.local is not None
        return pack_directory(self.local)


def pack_directory(directory: Path) -> bytes:
    """A local source directory as the tarball it stands for: every entry under the directory's name."""
    return archive_bytes(directory, directory.name)


@dataclass(frozen=True)
class BuildSpec:
    kind: str
    args: tuple[str, ...]  # configure_args / cmake_args / scons_args
    make_args: tuple[str, ...]
    install_target: str | None
    env: tuple[tuple[str, str], ...]
    remove: tuple[str, ...]  # globs, relative to the installed tree, dropped before packing
    configure_script: str = DEFAULT_CONFIGURE_SCRIPT  # what a make build runs with configure_args


@dataclass(frozen=True)
class Provides:
    libs: tuple[str, ...]
    headers: tuple[str, ...]
    pkgconfig: tuple[str, ...]


@dataclass(frozen=True)
class TestProgram:
    program: str  # path relative to the recipes directory
    cflags: tuple[str, ...]  # may use {sysroot}
    libs: tuple[str, ...]
    args: tuple[str, ...]
    stdout: str | None
    stdout_pattern: str | None


@dataclass(frozen=True)
class Recipe:
    name: str
    version: str
    summary: str
    license: str
    homepage: str
    sources: tuple[Source, ...]
    patches: tuple[str, ...]  # paths relative to the patches directory
    depends: tuple[str, ...]
    companions: tuple[str, ...]  # installed whenever this is (cwpkg-rt with bdwgc), not needed to build it
    build: BuildSpec
    provides: Provides
    test: TestProgram | None
    suite: Suite | None
    notes: str
    path: Path

    def build_inputs(self) -> dict[str, Any]:
        """What of this recipe changes the built files: the part of a package's identity it gives."""
        return {
            "name": self.name,
            "version": self.version,
            "sources": sorted({source.sha256 for source in self.sources}),
            "build": {
                "kind": self.build.kind,
                "args": list(self.build.args),
                "make_args": list(self.build.make_args),
                "install_target": self.build.install_target,
                "env": dict(self.build.env),
                "remove": list(self.build.remove),
                # only when named, so that the identities of recipes without one stay as they were
                **({"configure_script": self.build.configure_script}
                   if self.build.configure_script != DEFAULT_CONFIGURE_SCRIPT else {}),
            },
        }


def load_recipe(path: Path) -> Recipe:
    """Reads and validates one recipe file."""
    return parse_recipe(load_yaml(path), path)


def parse_recipe(document: Any, path: Path) -> Recipe:
    reader = FieldReader(path)
    top = reader.mapping(
        document,
        "",
        allowed={"name", "version", "summary", "license", "homepage", "sources", "patches", "depends", "companions",
                 "build", "provides", "test", "suite", "notes"},
        required={"name", "version", "summary", "license", "homepage", "sources", "build"},
    )
    name = reader.text(top["name"], "name", NAME_RE)
    if name != path.stem:
        raise reader.fail("name", f"{name!r} must match the file name {path.name!r}")
    depends = reader.strings(top.get("depends"), "depends", NAME_RE)
    if name in depends:
        raise reader.fail("depends", f"{name!r} depends on itself")
    return Recipe(
        name=name,
        version=reader.text(top["version"], "version", VERSION_RE),
        summary=reader.text(top["summary"], "summary"),
        license=reader.text(top["license"], "license"),
        homepage=reader.text(top["homepage"], "homepage"),
        sources=_parse_sources(reader, top["sources"]),
        patches=tuple(
            reader.relative_path(item, f"patches[{index}]") for index, item in enumerate(top.get("patches") or [])
        ),
        depends=depends,
        companions=reader.strings(top.get("companions"), "companions", NAME_RE),
        build=_parse_build(reader, top["build"]),
        provides=_parse_provides(reader, top.get("provides") or {}),
        test=_parse_test(reader, top["test"]) if top.get("test") is not None else None,
        suite=parse_suite(reader, top["suite"], PLACEHOLDERS) if top.get("suite") is not None else None,
        notes=reader.text(top.get("notes", ""), "notes"),
        path=path,
    )


def _parse_sources(reader: FieldReader, value: Any) -> tuple[Source, ...]:
    if not isinstance(value, list) or not value:
        raise reader.fail("sources", "expected a non-empty list of {url|debian, sha256} or one {local}")
    sources = []
    for index, item in enumerate(value):
        key = f"sources[{index}]"
        if isinstance(item, dict) and "local" in item:
            if len(value) != 1:
                raise reader.fail(key, "a local source is the only source of its recipe")
            return (_local_source(reader, item, key),)
        entry = reader.mapping(item, key, allowed={"url", "debian", "sha256"}, required={"sha256"})
        if ("url" in entry) == ("debian" in entry):
            raise reader.fail(key, "give exactly one of 'url' or 'debian'")
        sha256 = reader.text(entry["sha256"], f"{key}.sha256", SHA256_RE)
        if "url" in entry:
            url = reader.text(entry["url"], f"{key}.url")
            if not is_http_url(url):
                raise reader.fail(f"{key}.url", f"{url!r} is not an http(s) URL")
            sources.append(Source(sha256=sha256, url=url))
        else:
            debian = reader.relative_path(entry["debian"], f"{key}.debian")
            if not debian.startswith("pool/"):
                raise reader.fail(f"{key}.debian", f"{debian!r} must be a path in the archive's pool/")
            sources.append(Source(sha256=sha256, debian=debian))
    return tuple(sources)


def _local_source(reader: FieldReader, item: dict[str, Any], key: str) -> Source:
    """A directory next to recipes/ (cwpkg's own runtime, say): no download, no pinned checksum; its
    sha256 is that of its deterministic archive, so a changed file changes the package's identity."""
    entry = reader.mapping(item, key, allowed={"local"}, required={"local"})
    relative = reader.relative_path(entry["local"], f"{key}.local")
    directory = (reader.path.parent.parent / relative).absolute()
    if directory.is_symlink() or not directory.is_dir():
        raise reader.fail(f"{key}.local", f"{directory} is not a directory of the recipe checkout")
    return Source(sha256=hashlib.sha256(pack_directory(directory)).hexdigest(), local=directory)


def _parse_build(reader: FieldReader, value: Any) -> BuildSpec:
    # make may run a configure script that is not autoconf's (zlib's): with exactly configure_args.
    args_key = {"autotools": "configure_args", "cmake": "cmake_args", "make": "configure_args", "scons": "scons_args"}
    entry = reader.mapping(
        value,
        "build",
        allowed={"kind", "configure_args", "cmake_args", "scons_args", "make_args", "install_target", "env",
                 "remove", "configure_script"},
        required={"kind"},
    )
    kind = reader.text(entry["kind"], "build.kind")
    if kind not in BUILD_KINDS:
        raise reader.fail("build.kind", f"{kind!r} is not one of {', '.join(BUILD_KINDS)}")
    own_key = args_key[kind]
    for key in sorted(set(args_key.values()) - {own_key}):
        if key in entry:
            kinds = " or ".join(k for k, v in args_key.items() if v == key)
            raise reader.fail(f"build.{key}", f"only for kind {kinds}, this recipe's kind is {kind}")
    args = reader.strings(entry.get(own_key), f"build.{own_key}")
    make_args = reader.strings(entry.get("make_args"), "build.make_args")
    for index, arg in enumerate(args):
        reader.placeholders(arg, f"build.{own_key}[{index}]", PLACEHOLDERS)
    for index, arg in enumerate(make_args):
        reader.placeholders(arg, f"build.make_args[{index}]", PLACEHOLDERS)
    install_target = entry.get("install_target", "install")
    if install_target is not None:
        install_target = reader.text(install_target, "build.install_target")
    env_value = entry.get("env") or {}
    if not isinstance(env_value, dict):
        raise reader.fail("build.env", f"expected a mapping, got {type(env_value).__name__}")
    env = []
    for variable, setting in env_value.items():
        if not isinstance(variable, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", variable):
            raise reader.fail(f"build.env.{variable}", "not a valid environment variable name")
        env.append((variable, reader.placeholders(reader.text(setting, f"build.env.{variable}"), f"build.env.{variable}",
                                                 PLACEHOLDERS)))
    remove = tuple(
        reader.relative_path(item, f"build.remove[{index}]") for index, item in enumerate(entry.get("remove") or [])
    )
    configure_script = DEFAULT_CONFIGURE_SCRIPT
    if "configure_script" in entry:
        if kind != "make":
            raise reader.fail("build.configure_script", f"only for kind make, this recipe's kind is {kind}")
        configure_script = reader.text(entry["configure_script"], "build.configure_script", CONFIGURE_SCRIPT_RE)
    return BuildSpec(kind=kind, args=args, make_args=make_args, install_target=install_target,
                     env=tuple(env), remove=remove, configure_script=configure_script)


def _parse_provides(reader: FieldReader, value: Any) -> Provides:
    entry = reader.mapping(value, "provides", allowed={"libs", "headers", "pkgconfig"}, required=set())
    headers = tuple(
        reader.relative_path(item, f"provides.headers[{index}]") for index, item in enumerate(entry.get("headers") or [])
    )
    return Provides(
        libs=reader.strings(entry.get("libs"), "provides.libs", LIB_RE),
        headers=headers,
        pkgconfig=reader.strings(entry.get("pkgconfig"), "provides.pkgconfig", LIB_RE),
    )


def _parse_test(reader: FieldReader, value: Any) -> TestProgram:
    entry = reader.mapping(value, "test", allowed={"program", "cflags", "libs", "args", "stdout", "stdout_pattern"},
                           required={"program"})
    pattern = entry.get("stdout_pattern")
    if pattern is not None:
        pattern = reader.text(pattern, "test.stdout_pattern")
        try:
            re.compile(pattern)
        except re.error as error:
            raise reader.fail("test.stdout_pattern", f"not a valid regular expression: {error}") from None
    stdout = entry.get("stdout")
    cflags = reader.strings(entry.get("cflags"), "test.cflags")
    for index, flag in enumerate(cflags):
        reader.placeholders(flag, f"test.cflags[{index}]", allowed=TEST_PLACEHOLDERS)
    return TestProgram(
        program=reader.relative_path(entry["program"], "test.program"),
        cflags=cflags,
        libs=reader.strings(entry.get("libs"), "test.libs"),
        args=reader.strings(entry.get("args"), "test.args"),
        stdout=reader.text(stdout, "test.stdout") if stdout is not None else None,
        stdout_pattern=pattern,
    )
