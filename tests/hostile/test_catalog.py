"""The hostile-input catalog: every case gets one clear error (one `cwpkg: error:` line naming the
problem, and its fix), the documented exit code, and leaves everything byte for byte as it was: the
sysroot, the caches, the checkout and the directories around them (each case runs in a world of its
own, with TMPDIR and HOME inside it, and the whole world is compared).

Each world starts as a copy of one template: a checkout of the tiny packages whose `add` is installed
and locked, with a bundle of it made by `cwpkg bundle`. The packages are tiny, so the catalog runs
with the quick tests."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from helpers import ScriptedServer, make_tarball, run_cwpkg, snapshot
from tiny import MAKEFILE, SOURCES, env_for, write_repo

from cwpkg.errors import EXIT_CODES

LONG_NAME = "a" * 249


@dataclass
class Setting:
    world: Path  # everything a case may touch: checkout/, cache/, tmpdir/, home/
    env: dict[str, str]
    server: ScriptedServer
    scratch: Path  # outside the world: where a case prepares its inputs

    @property
    def root(self) -> Path:
        return self.world / "checkout"

    def recipe(self, change: Callable[[dict], None], name: str = "twice") -> None:
        path = self.root / "recipes" / f"{name}.yaml"
        document = yaml.safe_load(path.read_text())
        change(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def source(self, data: bytes, name: str = "twice") -> None:
        """Serves `data` as `name`'s source tarball, with the recipe's sha256 updated to match."""
        (self.root / "mirror" / f"{name}-1.0.tar.gz").write_bytes(data)
        self.recipe(lambda d: d["sources"][0].update(sha256=hashlib.sha256(data).hexdigest()), name)

    def patch(self, text: str, name: str = "twice") -> None:
        (self.root / "patches" / name / "fix.patch").write_text(text)

    def download_from(self, path: str, body: bytes, *behaviours: str) -> None:
        """`twice`'s only source becomes a URL of the test server; no mirror is consulted."""
        self.server.add(path, body, *behaviours)
        self.env.pop("CWPKG_MIRRORS")
        self.recipe(lambda d: d.update(sources=[{"url": f"{self.server.base}{path}",
                                                 "sha256": hashlib.sha256(tiny_tarball()).hexdigest()}]))


@dataclass(frozen=True)
class Case:
    prepare: Callable[[Setting], list[str]]  # returns the command line
    exit_code: int
    message: str
    forbidden: tuple[str, ...] = field(default=())  # must not appear in the output (secrets)


def tiny_tarball() -> bytes:
    return make_tarball({**SOURCES["twice"], "Makefile": MAKEFILE}, top="twice-1.0")


def _tar(*members: tuple[str, bytes | None, bytes, str]) -> bytes:
    """(name, content or None, type, link target) -> a gzipped tarball."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            info.size = len(content) if content is not None else 0
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


GOOD = [(f"twice-1.0/{name}", content, tarfile.REGTYPE, "") for name, content in
        {**SOURCES["twice"], "Makefile": MAKEFILE}.items()]


def _zip_slip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("twice-1.0/Makefile", MAKEFILE)
        archive.writestr("twice-1.0/../../escape.txt", b"evil")
    return buffer.getvalue()


def _source_case(data_maker: Callable[[], bytes], message: str, exit_code: int = 5, **env: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.source(data_maker())
        setting.env.update(env)
        return ["install", "twice"]
    return Case(prepare, exit_code, message)


def _recipe_case(change: Callable[[dict], None], message: str, name: str = "twice") -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.recipe(change, name)
        return ["install", "twice"]
    return Case(prepare, 3, message)


def _raw_recipe_case(text: str, message: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        (setting.root / "recipes" / "twice.yaml").write_text(text)
        return ["install", "twice"]
    return Case(prepare, 3, message)


def _long_name_recipe(setting: Setting) -> list[str]:
    """A recipe file whose name (and the package's) has 249 characters: file names built from it
    (`NAME.tar.gz`, `build-NAME-xxxx`) would pass the 255-byte limit."""
    twice = (setting.root / "recipes" / "twice.yaml").read_text()
    (setting.root / "recipes" / f"{LONG_NAME}.yaml").write_text(twice.replace("name: twice", f"name: {LONG_NAME}"))
    return ["install", "twice"]


def _patch_case(text: str, message: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.patch(text)
        return ["install", "twice"]
    return Case(prepare, 6, message)


def _cli_case(args: list[str], exit_code: int, message: str) -> Case:
    return Case(lambda setting: list(args), exit_code, message)


def _env_case(make_env: Callable[[Setting], dict[str, str]], args: list[str], exit_code: int, message: str,
              forbidden: tuple[str, ...] = ()) -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.env.update(make_env(setting))
        return list(args)
    return Case(prepare, exit_code, message, forbidden)


def _download_case(behaviour: str, body: bytes, message: str, **env: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.download_from("/twice-1.0.tar.gz", body, behaviour)
        setting.env.update(env)
        return ["install", "twice"]
    return Case(prepare, 4, message)


def _fake_prefix(setting: Setting, clang_version: str | None, builtins: bool, wasm_ld: bool = True) -> dict[str, str]:
    """An LLVM prefix of shell scripts: a clang that reports `clang_version`, and so on."""
    prefix = setting.scratch / "fake-llvm"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    missing = setting.scratch / "nowhere" / "libclang_rt.builtins-wasm32.a"
    real = sorted(Path("/usr/lib").glob("llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"))
    printed = (real[-1] if real else missing) if builtins else missing  # whichever LLVM this machine has
    scripts = {"clang": f'#!/bin/sh\ncase "$*" in *print-libgcc*) echo {printed};; '
                        f'*) echo "Debian clang version {clang_version or "x"}.0.1";; esac\n',
               "llvm-ar": "#!/bin/sh\necho 'LLVM version 19'\n", "llvm-ranlib": "#!/bin/sh\n",
               "llvm-nm": "#!/bin/sh\n"}
    if wasm_ld:
        scripts["wasm-ld"] = "#!/bin/sh\necho 'LLD 19'\n"
    for name, text in scripts.items():
        (prefix / "bin" / name).write_text(text)
        (prefix / "bin" / name).chmod(0o755)
    return {"CWPKG_TOOLCHAIN": str(prefix)}


# -- bundles: a good bundle of `add`, changed in one way each, with its checksums made to match ----------

def _sums(tree: Path) -> None:
    lines = []
    for path in sorted(tree.rglob("*")):
        relative = path.relative_to(tree).as_posix()
        if path.is_file() and not path.is_symlink() and relative != ".cwpkg/SHA256SUMS":
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {relative}")
    (tree / ".cwpkg" / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def _manifest(tree: Path, change: Callable[[dict], None]) -> None:
    path = tree / ".cwpkg" / "installed" / "add.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _bundled_lock(tree: Path, change: Callable[[dict], None]) -> None:
    path = tree / ".cwpkg" / "cwpkg.lock"
    document = json.loads(path.read_text())
    change(document["packages"])
    path.write_text(json.dumps(document))


def _bundle_case(change: Callable[[Path], None], message: str, exit_code: int = 12, sums: bool = True,
                 extra: tuple[tarfile.TarInfo, ...] = ()) -> Case:
    def prepare(setting: Setting) -> list[str]:
        tree = setting.scratch / "bundle-tree"
        with tarfile.open(setting.root / "add-bundle.tar.gz") as tar:
            tar.extractall(tree, filter="tar")
        change(tree)
        if sums:
            _sums(tree)
        bundle = setting.scratch / "hostile-bundle.tar.gz"
        with tarfile.open(bundle, "w:gz") as tar:
            for path in sorted(tree.rglob("*")):
                tar.add(path, arcname=path.relative_to(tree).as_posix(), recursive=False)
            for info in extra:
                tar.addfile(info, io.BytesIO(b"x" * info.size))
        return ["install", "--from-bundle", str(bundle)]
    return Case(prepare, exit_code, message)


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 1) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, size if kind == tarfile.REGTYPE else 0
    return info


def _add_file(tree: Path, relative: str, content: bytes = b"x\n") -> None:
    (tree / relative).parent.mkdir(parents=True, exist_ok=True)
    (tree / relative).write_bytes(content)


def _garbage_bundle(setting: Setting) -> list[str]:
    (setting.scratch / "garbage.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"no bundle here" * 40)
    return ["install", "--from-bundle", str(setting.scratch / "garbage.tar.gz")]


# -- the sysroot's own state, changed by hand or by an attacker ----------------------------------------------

def _state_case(change: Callable[[Setting], None], args: list[str], exit_code: int, message: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        change(setting)
        return list(args)
    return Case(prepare, exit_code, message)


def _installed_manifest(setting: Setting, change: Callable[[dict], None]) -> None:
    path = setting.root / "sysroot" / ".cwpkg" / "installed" / "add.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _include_through_symlink(setting: Setting) -> None:
    """The sysroot's include/ replaced by a link to a directory outside, holding a file of that name."""
    outside = setting.world / "outside"
    outside.mkdir()
    (outside / "add.h").write_text("not cwpkg's\n")
    include = setting.root / "sysroot" / "include"
    shutil.rmtree(include)
    include.symlink_to(outside)


def _lockfile(setting: Setting, change: Callable[[dict], None]) -> None:
    path = setting.root / "cwpkg.lock"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _index_case(index: bytes, message: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.server.add("/cache/index.json", index)
        setting.env["CWPKG_BINARY_CACHE"] = f"{setting.server.base}/cache"
        return ["cache", "list"]
    return Case(prepare, 4, message)


def _credentials_case(setting: Setting) -> list[str]:
    setting.server.add("/cache/index.json", b"", "500")
    setting.env["CWPKG_BINARY_CACHE"] = setting.server.base.replace("http://", "http://builder:hunter2@") + "/cache"
    return ["cache", "list"]


def _module(setting: Setting, data: bytes, command: list[str], suffix: str = ".wasm") -> list[str]:
    path = setting.scratch / f"module{suffix}"
    path.write_bytes(data)
    return [*command, str(path), *(["-o", str(setting.scratch / "out.wasm")] if command == ["link"] else [])]


def _symlink_patch(name: str, target: str) -> str:
    return (f"diff --git a/{name} b/{name}\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n"
            f"+++ b/{name}\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n")


CASES: dict[str, Case] = {
    # source archives with the right checksum and hostile contents
    "archive: ../ path": _source_case(lambda: _tar(*GOOD, ("twice-1.0/../../escape.c", b"x", tarfile.REGTYPE, "")),
                                      "refusing path with '..'"),
    "archive: absolute path": _source_case(lambda: _tar(("/tmp/escape.c", b"x", tarfile.REGTYPE, "")),
                                           "refusing absolute path"),
    "archive: symlink out": _source_case(lambda: _tar(*GOOD, ("twice-1.0/evil", None, tarfile.SYMTYPE,
                                                              "../../../../etc/passwd")), "refusing"),
    "archive: absolute symlink": _source_case(lambda: _tar(*GOOD, ("twice-1.0/evil", None, tarfile.SYMTYPE,
                                                                   "/etc/passwd")), "refusing"),
    "archive: symlink chain out": _source_case(lambda: _tar(*GOOD, ("twice-1.0/sub/up", None, tarfile.SYMTYPE, ".."),
                                                            ("twice-1.0/sub/escape", None, tarfile.SYMTYPE, "up/..")),
                                               "refusing symlink 'sub/escape' -> 'up/..' pointing outside"),
    "archive: symlink loop": _source_case(lambda: _tar(*GOOD, ("twice-1.0/a", None, tarfile.SYMTYPE, "b"),
                                                       ("twice-1.0/b", None, tarfile.SYMTYPE, "a")), "refusing symlink"),
    "archive: hardlink out": _source_case(lambda: _tar(*GOOD, ("twice-1.0/evil", None, tarfile.LNKTYPE,
                                                               "../../../etc/passwd")), "refusing"),
    "archive: device file": _source_case(lambda: _tar(*GOOD, ("twice-1.0/dev", None, tarfile.CHRTYPE, "")),
                                         "refusing"),
    "archive: fifo": _source_case(lambda: _tar(*GOOD, ("twice-1.0/pipe", None, tarfile.FIFOTYPE, "")), "refusing"),
    "archive: duplicate entry": _source_case(lambda: _tar(*GOOD, GOOD[0]), "duplicate"),
    "archive: huge claimed size": _source_case(lambda: _tar(*GOOD), "unpacks to more than 100 bytes",
                                               CWPKG_MAX_UNPACK="100"),
    "archive: truncated gzip": _source_case(lambda: make_tarball({"a": b"x" * 5000}, top="twice-1.0")[:60],
                                            "corrupt or truncated archive"),
    "archive: not compressed data": _source_case(lambda: b"\x1f\x8b\x08\x00garbage" * 20,
                                                 "corrupt or truncated archive"),
    "archive: zip slip": _source_case(_zip_slip, "refusing path with '..'"),
    # recipes
    "recipe: bad YAML": _raw_recipe_case("name: twice\nversion: [1.0\n", "invalid YAML"),
    "recipe: not a mapping": _raw_recipe_case("- twice\n", "expected a mapping"),
    "recipe: wrong type": _recipe_case(lambda d: d.update(depends="add"), "key 'depends': expected a list, got str"),
    "recipe: unknown key": _recipe_case(lambda d: d.update(buid={}), "key 'buid': unknown key"),
    "recipe: missing field": _recipe_case(lambda d: d.pop("version"), "key 'version': missing (required)"),
    "recipe: patch escapes patches/": _recipe_case(lambda d: d.update(patches=["../../etc/passwd"]), "patches"),
    "recipe: shell metacharacters in name": _recipe_case(lambda d: d.update(name="twice;rm -rf ~"), "key 'name'"),
    "recipe: shell metacharacters in version": _recipe_case(lambda d: d.update(version="1.0$(id)"), "key 'version'"),
    "recipe: version with a newline": _recipe_case(lambda d: d.update(version="1.0\n"), "key 'version'"),
    "recipe: 249-character name": Case(_long_name_recipe, 3, "key 'name'"),
    "recipe: dependency cycle": _recipe_case(lambda d: d.update(depends=["twice"]), "dependency cycle", name="add"),
    "recipe: self dependency": _recipe_case(lambda d: d.update(depends=["twice"]), "depends on itself"),
    "recipe: unknown dependency": _recipe_case(lambda d: d.update(depends=["nosuch"]), "nosuch"),
    "recipe: malformed sha256": _recipe_case(lambda d: d["sources"][0].update(sha256="abc"), "sha256"),
    "recipe: name differs from file": _recipe_case(lambda d: d.update(name="other"), "key 'name'"),
    "recipe: unknown build kind": _recipe_case(lambda d: d["build"].update(kind="bazel"), "key 'build.kind'"),
    "recipe: unknown placeholder": _recipe_case(lambda d: d["build"].update(make_args=["X={nosuch}"]), "nosuch"),
    # patches
    "patch: does not apply": _patch_case("--- a/twice.c\n+++ b/twice.c\n@@ -1,2 +1,2 @@\n-/* nothing like it */\n"
                                         "+/* x */\n #include <add.h>\n", "does not apply"),
    "patch: would need fuzz": _patch_case("--- a/twice.c\n+++ b/twice.c\n@@ -1,3 +1,3 @@\n-/* twice */\n"
                                          "+/* x */\n #include <add.h>\n int twice(int b) {\n", "does not apply"),
    "patch: outside the tree": _patch_case("--- a/../outside.c\n+++ b/../outside.c\n@@ -0,0 +1 @@\n+evil\n",
                                           "outside"),
    "patch: absolute path": _patch_case("--- /etc/passwd\n+++ /etc/passwd\n@@ -0,0 +1 @@\n+evil\n", "outside"),
    "patch: not a diff": _patch_case("this is not a patch\n", "no unified diff found"),
    "patch: malformed hunk": _patch_case("--- a/twice.c\n+++ b/twice.c\n@@ nonsense @@\n", "malformed hunk header"),
    "patch: binary": _patch_case("diff --git a/logo.png b/logo.png\nnew file mode 100644\nindex 0000000..1111111\n"
                                 "GIT binary patch\nliteral 4\nLcmZ?wbh8Qn0tf%hdx8\n\nliteral 0\nHcmV?d00001\n",
                                 "binary patch for b/logo.png"),
    "patch: symlink out of the tree": _patch_case(_symlink_patch("evil", "../../../etc/passwd"),
                                                  "refusing symlink evil -> '../../../etc/passwd'"),
    "patch: symlink chain out": _patch_case(_symlink_patch("up", ".") + _symlink_patch("escape", "up/.."),
                                            "refusing symlink escape -> 'up/..'"),
    "patch: writes through a symlink it made": _patch_case(
        _symlink_patch("here", ".") + "--- /dev/null\n+++ b/here/new.c\n@@ -0,0 +1 @@\n+int x;\n",
        "refusing to write 'here/new.c' through the symlink 'here'"),
    "patch: changes a missing file": _patch_case("--- a/nosuch.c\n+++ b/nosuch.c\n@@ -1 +1 @@\n-a\n+b\n",
                                                 "nosuch.c does not exist"),
    "patch: creates an existing file": _patch_case("--- /dev/null\n+++ b/twice.c\n@@ -0,0 +1 @@\n+int x;\n",
                                                   "creates twice.c, which already exists"),
    "patch: deletes more than it says": _patch_case("--- a/twice.h\n+++ /dev/null\n@@ -1 +0,0 @@\n-nothing\n",
                                                    "does not apply"),
    "patch: renames out of the tree": _patch_case("diff --git a/twice.h b/../twice.h\nsimilarity index 100%\n"
                                                  "rename from twice.h\nrename to ../twice.h\n", "outside"),
    # command lines
    "cli: unknown flag": _cli_case(["install", "--frobnicate", "twice"], 2, "unrecognized arguments"),
    "cli: conflicting options": _cli_case(["install", "--all", "twice"], 2, "not both"),
    "cli: unknown package": _cli_case(["install", "nosuch"], 2, "unknown package 'nosuch'"),
    "cli: 249-character package name": _cli_case(["install", LONG_NAME], 2, "unknown package"),
    "cli: info of a 249-character name": _cli_case(["info", LONG_NAME], 2, "unknown package"),
    "cli: zero jobs": _cli_case(["install", "-j", "0", "twice"], 2, "must be at least 1"),
    "cli: jobs not a number": _cli_case(["install", "-j", "many", "twice"], 2, "not a whole number"),
    "cli: locked without a lockfile": _cli_case(["install", "--locked", "--lockfile", "nosuch.lock"], 2,
                                                "no lockfile here"),
    "cli: link a text file": _cli_case(["link", "recipes/add.yaml"], 2,
                                       "neither Crystal source (.cr) nor a wasm32 object"),
    "cli: run a text file": _cli_case(["run", "recipes/add.yaml"], 2, "not a linked WebAssembly module"),
    "cli: uninstall an unknown package": _cli_case(["uninstall", "nosuch"], 2, "unknown package 'nosuch'"),
    "cli: upstream tests of a recipe without any": _cli_case(["test", "twice"], 2, "has no upstream test suite"),
    "cli: crystal source URL without its sha256": _cli_case(["spec", "--crystal-src", "https://example.invalid/c.tgz"],
                                                            2, "needs --crystal-src-sha256"),
    "cli: unknown toolchain recipe": _cli_case(["toolchain", "--install", "nosuch"], 2, "no toolchain recipe named"),
    "cli: ci template over an existing file": _cli_case(["ci-template", "github", "-o", "recipes/add.yaml"], 2,
                                                        "exists"),
    "cli: bundle into a directory": _cli_case(["bundle", "-o", "recipes"], 2, "is a directory"),
    "cli: bundle from a missing file": _cli_case(["install", "--from-bundle", "nosuch.tar.gz"], 2, "no such bundle"),
    "cli: sysroot is a file": _env_case(lambda s: {"CWPKG_SYSROOT": str(s.root / "recipes" / "add.yaml")},
                                        ["install", "twice"], 9, "is not a directory"),
    "cli: sysroot inside the cache": _env_case(lambda s: {"CWPKG_SYSROOT": str(Path(s.env["CWPKG_CACHE"]) / "sr")},
                                               ["install", "twice"], 2, "would overlap"),
    "cli: sysroot holds the cache": _env_case(lambda s: {"CWPKG_SYSROOT": str(s.world)}, ["install", "twice"], 2,
                                              "would overlap"),
    "cli: sysroot under a file": _env_case(lambda s: {"CWPKG_SYSROOT": str(s.root / "recipes" / "add.yaml" / "x")},
                                           ["install", "twice"], 9, "cannot use this sysroot"),
    "cli: sysroot is /": _cli_case(["install", "twice", "--sysroot", "/"], 2, "refusing sysroot /: a system"),
    "cli: sysroot is /usr": _cli_case(["install", "twice", "--sysroot", "/usr"], 2, "refusing sysroot /usr: a system"),
    "cli: sysroot is the home directory": _env_case(lambda s: {"CWPKG_SYSROOT": s.env["HOME"]}, ["install", "twice"], 2,
                                                    "a system or home directory"),
    "cli: sysroot is the checkout": _env_case(lambda s: {"CWPKG_SYSROOT": str(s.root)}, ["install", "twice"], 2,
                                              "would hold the recipes checkout"),
    # environment
    "env: no toolchain": _env_case(lambda s: {"PATH": str(s.scratch / "empty-path")}, ["install", "twice"], 7,
                                   "no WebAssembly C toolchain found"),
    "env: toolchain too old": _env_case(lambda s: _fake_prefix(s, "15", True), ["install", "twice"], 7,
                                        "is clang version 15; WebAssembly builds need LLVM 16 or newer"),
    "env: no compiler-rt": _env_case(lambda s: _fake_prefix(s, "19", False), ["install", "twice"], 7,
                                     "has no wasm32 compiler-rt builtins"),
    "env: no wasm-ld": _env_case(lambda s: _fake_prefix(s, "19", True, wasm_ld=False), ["install", "twice"], 7,
                                 "incomplete toolchain, missing"),
    "env: unreachable sources": _env_case(lambda s: {"CWPKG_MIRRORS": str(s.scratch / "empty-mirror")},
                                          ["install", "twice", "--quiet"], 4, "twice"),
    "env: timeout not a number": _env_case(lambda s: {"CWPKG_TIMEOUT": "thirty"}, ["install", "twice"], 2,
                                           "CWPKG_TIMEOUT='thirty' is not valid"),
    "env: retries not a number": _env_case(lambda s: {"CWPKG_RETRIES": "4.5"}, ["install", "twice"], 2,
                                           "CWPKG_RETRIES='4.5' is not valid"),
    "env: backoff negative": _env_case(lambda s: {"CWPKG_BACKOFF": "-1"}, ["install", "twice"], 2,
                                       "CWPKG_BACKOFF='-1' is not valid"),
    "env: unpack limit not a number": _env_case(lambda s: {"CWPKG_MAX_UNPACK": "lots"}, ["install", "twice"], 2,
                                                "CWPKG_MAX_UNPACK='lots' is not valid"),
    "env: download deadline zero": _env_case(lambda s: {"CWPKG_DOWNLOAD_DEADLINE": "0"}, ["install", "twice"], 2,
                                             "CWPKG_DOWNLOAD_DEADLINE='0' is not valid"),
    # downloads: every failure of the only source is a clear error (the next source would be tried)
    "download: redirect to file://": _download_case("redirect:file:///etc/passwd", b"", "redirected to a URL that is "
                                                    "not http(s)"),
    "download: redirect to ftp://": _download_case("redirect:ftp://127.0.0.1/twice-1.0.tar.gz", b"",
                                                   "redirected to a URL that is not http(s)"),
    "download: redirect loop": _download_case("redirect:/twice-1.0.tar.gz", b"", "more than 10 redirects"),
    "download: broken gzip encoding": _download_case("claims-gzip", b"\x1f\x8b\x08broken", "sha256 mismatch"),
    "download: a page instead of the file": _download_case("ok", b"<html>moved</html>", "sha256 mismatch"),
    "download: trickle past the deadline": _download_case("trickle", tiny_tarball(), "download deadline of 1.5 s",
                                                          CWPKG_DOWNLOAD_DEADLINE="1.5"),
    "download: not found": _download_case("404", b"", "HTTP 404"),
    # bundles
    "bundle: manifest path with ..": _bundle_case(
        lambda tree: _manifest(tree, lambda m: m["files"].update({"../escape.h": "0" * 64})),
        "file path '../escape.h' is not a relative path inside the sysroot"),
    "bundle: manifest absolute path": _bundle_case(
        lambda tree: _manifest(tree, lambda m: m["files"].update({"/etc/cwpkg-test": "0" * 64})),
        "file path '/etc/cwpkg-test' is not a relative path inside the sysroot"),
    "bundle: manifest path into .cwpkg": _bundle_case(
        lambda tree: _manifest(tree, lambda m: m["files"].update({".cwpkg/installed/x.json": "0" * 64})),
        "file path '.cwpkg/installed/x.json' is not a relative path inside the sysroot"),
    "bundle: symlink chain out": _bundle_case(
        lambda tree: ((tree / "include" / "up").symlink_to(".."), (tree / "include" / "out").symlink_to("up/..")),
        "refusing symlink 'include/out' -> 'up/..' pointing outside", exit_code=5),
    "bundle: symlink out": _bundle_case(lambda tree: (tree / "include" / "out").symlink_to("../../../etc"),
                                        "pointing outside", exit_code=5),
    "bundle: hard link": _bundle_case(lambda tree: None, "refusing hard link 'include/hard'", exit_code=5,
                                      extra=(_member("include/hard", tarfile.LNKTYPE, "include/add.h"),)),
    "bundle: absolute member": _bundle_case(lambda tree: None, "refusing absolute path", exit_code=5,
                                            extra=(_member("/tmp/cwpkg-escape"),)),
    "bundle: foreign lock": _bundle_case(lambda tree: _bundled_lock(tree, lambda p: p["add"].update(settings="1" * 64)),
                                         "its add was built from other inputs than"),
    "bundle: a package the lockfile does not lock": _bundle_case(
        lambda tree: _bundled_lock(tree, lambda p: p.update(other=p.pop("add"))), "which"),
    "bundle: a file of no package": _bundle_case(lambda tree: _add_file(tree, "include/stray.h"),
                                                 "include/stray.h belongs to no package's manifest"),
    "bundle: a listed file missing": _bundle_case(
        lambda tree: _manifest(tree, lambda m: m["files"].update({"include/gone.h": "0" * 64})),
        "lists include/gone.h, which is not in the bundle"),
    "bundle: manifest not JSON": _bundle_case(
        lambda tree: (tree / ".cwpkg" / "installed" / "add.json").write_text("{not json"), "is not JSON"),
    "bundle: manifest of the wrong shape": _bundle_case(lambda tree: _manifest(tree, lambda m: m.update(files=[])),
                                                        "malformed manifest of add: files is not an object"),
    "bundle: state it must not carry": _bundle_case(lambda tree: _add_file(tree, ".cwpkg/tx/add/journal.json"),
                                                    "unexpected .cwpkg/tx"),
    "bundle: no checksums": _bundle_case(lambda tree: (tree / ".cwpkg" / "SHA256SUMS").unlink(),
                                         "not a cwpkg bundle", sums=False),
    "bundle: lock not JSON": _bundle_case(lambda tree: (tree / ".cwpkg" / "cwpkg.lock").write_text("[]"),
                                          "not a cwpkg lockfile"),
    "bundle: manifest disagrees with the lock": _bundle_case(
        lambda tree: _manifest(tree, lambda m: m.update(identity="2" * 64)), "add's manifest disagrees with the lock"),
    "bundle: not an archive": Case(_garbage_bundle, 5, "corrupt or truncated archive"),
    "bundle: without a lockfile to check it": _env_case(
        lambda s: {"CWPKG_LOCK": str(s.world / "nosuch.lock")}, ["install", "--from-bundle", "add-bundle.tar.gz"], 2,
        "does not exist"),
    # more of what a hostile-input hunt found
    "cli: bundle into the sysroot": _cli_case(["bundle", "-o", "sysroot/include/x.tar.gz"], 2, "inside the sysroot"),
    "cli: link output into the sysroot": _cli_case(["link", "recipes/add.yaml", "-o", "sysroot/lib/libc.a"], 2,
                                                   "inside the sysroot"),
    "cli: lockfile is a directory": _cli_case(["lock", "add", "--lockfile", "recipes"], 2, "is a directory"),
    "cli: run with a timeout of nan": _cli_case(["run", "--timeout", "nan", "x.wasm"], 2,
                                                "not a positive number of seconds"),
    "cli: verify against a missing lockfile": _cli_case(["verify", "--lockfile", "nosuch.lock"], 2, "no lockfile here"),
    "cli: bundle a package not installed": _cli_case(["bundle", "twice", "-o", "x.tar.gz"], 2,
                                                     "twice is not installed"),
    "cli: sysroot path with a space": _env_case(lambda s: {"CWPKG_SYSROOT": str(s.world / "sp ace")},
                                                ["install", "twice"], 2, "which autotools and make builds cannot"),
    "cli: cache path with a space": _env_case(lambda s: {"CWPKG_CACHE": str(s.world / "sp ace")},
                                              ["install", "twice"], 2, "the cache"),
    "env: binary cache not a URL": _env_case(lambda s: {"CWPKG_BINARY_CACHE": "relative/cache"}, ["cache", "list"], 2,
                                             "neither an http(s) URL nor an absolute directory"),
    "env: binary cache is a file": _env_case(lambda s: {"CWPKG_BINARY_CACHE": str(s.root / "recipes" / "add.yaml")},
                                             ["cache", "list"], 2, "is not a directory"),
    "env: mirror credentials stay secret": _env_case(
        lambda s: {"CWPKG_MIRRORS": "http://alice:s3cret@127.0.0.1:9/dist"}, ["install", "twice"], 4,
        "http://***@127.0.0.1:9/dist/twice-1.0.tar.gz", forbidden=("s3cret",)),
    "download: larger than allowed": _download_case("ok", tiny_tarball(), "more than CWPKG_MAX_DOWNLOAD (100)",
                                                    CWPKG_MAX_DOWNLOAD="100"),
    "download: redirect to a broken URL": _download_case("redirect:http://[::1/x", b"", "twice"),
    "module: truncated": Case(lambda s: _module(s, b"\0asm\1\0\0\0\1\x40", ["run"]), 2,
                              "not a linked WebAssembly module"),
    "module: no _start": Case(lambda s: _module(s, b"\0asm\1\0\0\0", ["run"]), 2, "has no _start function"),
    "module: invalid for wasmtime": Case(lambda s: _module(s, b"\0asm\1\0\0\0\x01\x01\x7f", ["run"]), 2,
                                         "wasmtime cannot load it"),
    "module: a truncated object to link": Case(lambda s: _module(s, b"\0asm\1\0\0\0\0\x08\x07linking",
                                                                 ["link"], ".o"), 11, "not a wasm32 object file"),
    "recipe: duplicate key": _raw_recipe_case("name: twice\nversion: '1.0'\nversion: '9.9'\n", "appears twice"),
    "recipe: unquoted version number": _recipe_case(lambda d: d.update(version=1.10), "got the number 1.1"),
    "recipe: URL without a host": _recipe_case(lambda d: d["sources"][0].update(url="http://"),
                                               "is not an http(s) URL"),
    "patch: a header without hunks": _patch_case("--- a/twice.c\n+++ b/twice.c\n", "has a file header but no hunks"),
    "patch: binary files differ": _patch_case("Binary files a/x.png and b/x.png differ\n", "Binary files"),
    "patch: creates a file below a file": _patch_case("--- /dev/null\n+++ b/twice.c/inner.c\n@@ -0,0 +1 @@\n+x\n",
                                                      "'twice.c' is a file"),
    "state: a journal that is not JSON": _state_case(
        lambda s: _add_file(s.root / "sysroot", ".cwpkg/tx/add/journal.json", b"{garbage"), ["verify"], 12,
        "cannot recover this interrupted change"),
    "state: a journal for another package": _state_case(
        lambda s: _add_file(s.root / "sysroot", ".cwpkg/tx/add/journal.json",
                            b'{"package": "twice", "old": null, "new": null, "old_archive": false}'), ["verify"], 12,
        "cannot recover this interrupted change: not a journal cwpkg writes"),
    "lock: format given as true": _state_case(lambda s: _lockfile(s, lambda d: d.update(cwpkg_lock=True)),
                                              ["install", "--locked"], 3, "not a cwpkg lockfile of format 1"),
    "lock: no packages": _state_case(lambda s: _lockfile(s, lambda d: d.update(packages={})),
                                     ["install", "--locked"], 2, "locks no packages"),
    "bundle: holds no packages": _bundle_case(
        lambda tree: (shutil.rmtree(tree / "include"), shutil.rmtree(tree / "lib"),
                      (tree / ".cwpkg" / "installed" / "add.json").unlink(),
                      _bundled_lock(tree, lambda p: p.clear())), "it holds no packages"),
    # the sysroot's own state
    "state: manifest path with ..": _state_case(
        lambda s: _installed_manifest(s, lambda m: m["files"].update({"../../escape.h": "0" * 64})),
        ["uninstall", "add"], 12, "malformed manifest of add: file path '../../escape.h'"),
    "state: manifest not JSON": _state_case(
        lambda s: (s.root / "sysroot/.cwpkg/installed/add.json").write_text("{"), ["list"], 12,
        "unreadable manifest of add"),
    "state: include/ through a symlink": _state_case(_include_through_symlink, ["uninstall", "add"], 9,
                                                     "cwpkg never writes through one"),
    "state: bundle a sysroot with a missing file": _state_case(
        lambda s: (s.root / "sysroot/include/add.h").unlink(), ["bundle", "-o", "out.tar.gz"], 12,
        "missing:  include/add.h"),
    # lockfiles
    "lock: not JSON": _state_case(lambda s: (s.root / "cwpkg.lock").write_text("{"), ["install", "--locked"], 3,
                                  "not a cwpkg lockfile"),
    "lock: wrong field types": _state_case(
        lambda s: _lockfile(s, lambda d: d["packages"]["add"].update(sources="abc")), ["install", "--locked"], 3,
        "entry 'add' is malformed"),
    "lock: a name with a path": _state_case(
        lambda s: _lockfile(s, lambda d: d["packages"].update({"../x": d["packages"]["add"]})),
        ["install", "--locked"], 3, "entry '../x' is malformed"),
    "lock: a directory": _cli_case(["install", "--locked", "--lockfile", "recipes"], 3, "not a cwpkg lockfile"),
    "lock: installed archive differs": _state_case(
        lambda s: _lockfile(s, lambda d: d["packages"]["add"].update(archive_sha256="5" * 64)),
        ["install", "--locked", "add"], 12, "same inputs, different bytes"),
    # binary caches
    "cache: index of the wrong shape": _index_case(b'["not", "an", "index"]', "is not a cwpkg binary cache index"),
    "cache: index not JSON": _index_case(b"<html>", "is not a cwpkg binary cache index"),
    "cache: credentials stay secret": Case(_credentials_case, 4, "binary cache http://***@127.0.0.1",
                                           forbidden=("hunter2",)),
    "cache: gc without a lockfile": _env_case(lambda s: {"CWPKG_BINARY_CACHE": str(s.scratch / "bc"),
                                                         "CWPKG_LOCK": str(s.world / "nosuch.lock")},
                                              ["cache", "gc"], 2, "no lockfile here"),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A world with `add` installed and locked, and `add-bundle.tar.gz` made from it."""
    world = tmp_path_factory.mktemp("template") / "world"
    root = world / "checkout"
    mirror = write_repo(root)
    for directory in ("tmpdir", "home"):
        (world / directory).mkdir(parents=True)
    env = _world_env(world, mirror)
    assert run_cwpkg("lock", "add", env=env).returncode == 0
    made = run_cwpkg("bundle", "-o", str(root / "add-bundle.tar.gz"), env=env)
    assert made.returncode == 0, made.stderr
    return world


def _world_env(world: Path, mirror: Path) -> dict[str, str]:
    return env_for(world / "checkout", mirror, world / "cache", CWPKG_RETRIES="1", CWPKG_TIMEOUT="2",
                   CWPKG_BACKOFF="0", TMPDIR=str(world / "tmpdir"), HOME=str(world / "home"))


@pytest.fixture
def setting(template: Path, tmp_path: Path, http_server: ScriptedServer) -> Setting:
    world = tmp_path / "world"
    shutil.copytree(template, world, symlinks=True)
    scratch = tmp_path / "scratch"
    for directory in ("empty-path", "empty-mirror"):
        (scratch / directory).mkdir(parents=True)
    return Setting(world, _world_env(world, world / "checkout" / "mirror"), http_server, scratch)


def test_the_catalog_is_large_enough():
    assert len(CASES) >= 80


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_gets_one_clear_error_and_changes_nothing(setting, name):
    case = CASES[name]
    args = case.prepare(setting)
    if name == "env: unreachable sources":
        (setting.root / "mirror" / "twice-1.0.tar.gz").unlink()
    before = snapshot(setting.world)
    result = run_cwpkg(*args, env=setting.env, cwd=setting.root, timeout=120)
    assert result.returncode == case.exit_code, result.stderr
    assert case.exit_code in EXIT_CODES and case.exit_code != 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert case.message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for secret in case.forbidden:
        assert secret not in result.stderr + result.stdout
    assert snapshot(setting.world) == before, "the sysroot, caches, checkout and all around them are as they were"


def test_disk_full_gets_one_clear_error_and_changes_nothing(setting):
    """The sysroot on a small tmpfs, filled up but for a few KiB (when this machine allows mounting)."""
    import subprocess

    mount = setting.scratch / "small-fs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        sysroot = mount / "sysroot"
        env = {**setting.env, "CWPKG_SYSROOT": str(sysroot)}
        assert run_cwpkg("install", "add", env=env).returncode == 0
        (mount / "filler").write_bytes(b"\0" * (shutil.disk_usage(mount).free - 4096))
        before = (snapshot(sysroot), snapshot(setting.world))
        result = run_cwpkg("install", "twice", env=env)
        assert result.returncode == 9, result.stderr
        assert result.stderr.count("error:") == 1 and "no space left on the device" in result.stderr
        assert (snapshot(sysroot), snapshot(setting.world)) == before
        (mount / "filler").unlink()
        assert run_cwpkg("install", "twice", env=env).returncode == 0, "after freeing space the next run works"
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_nothing_is_written_outside_the_world_by_a_whole_install(setting):
    """The reference for the cases above: a successful install of `twice` changes the sysroot and the
    cache, and leaves TMPDIR and HOME empty (builds work in the cache)."""
    result = run_cwpkg("install", "twice", env=setting.env, cwd=setting.root)
    assert result.returncode == 0, result.stderr
    assert os.listdir(setting.world / "tmpdir") == [] and os.listdir(setting.world / "home") == []
