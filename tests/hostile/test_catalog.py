"""The hostile-input catalog: every case gets one clear error (one `cwpkg: error:` line naming the
problem, and its fix), a non-zero exit, and leaves the sysroot and the caches byte for byte as they
were. Each case starts from a checkout whose tiny package `add` is installed."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import make_tarball, run_cwpkg, snapshot
from tiny import MAKEFILE, SOURCES, env_for, write_repo

pytestmark = pytest.mark.slow


@dataclass
class Setting:
    root: Path  # the checkout: recipes/, patches/, mirror/
    env: dict[str, str]
    tmp: Path

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


@dataclass(frozen=True)
class Case:
    prepare: Callable[[Setting], list[str]]  # returns the command line
    exit_code: int
    message: str


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


def _patch_case(text: str, message: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.patch(text)
        return ["install", "twice"]
    return Case(prepare, 6, message)


def _cli_case(args: list[str], exit_code: int, message: str) -> Case:
    return Case(lambda setting: list(args), exit_code, message)


def _env_case(make_env: Callable[[Setting], dict[str, str]], args: list[str], exit_code: int, message: str) -> Case:
    def prepare(setting: Setting) -> list[str]:
        setting.env.update(make_env(setting))
        return list(args)
    return Case(prepare, exit_code, message)


def _fake_prefix(setting: Setting, clang_version: str | None, builtins: bool, wasm_ld: bool = True) -> dict[str, str]:
    """An LLVM prefix of shell scripts: a clang that reports `clang_version`, and so on."""
    prefix = setting.tmp / "fake-llvm"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    missing = setting.tmp / "nowhere" / "libclang_rt.builtins-wasm32.a"
    printed = "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a" if builtins else missing
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


CASES: dict[str, Case] = {
    # archives with the right checksum and hostile contents
    "archive: ../ path": _source_case(lambda: _tar(*GOOD, ("twice-1.0/../../escape.c", b"x", tarfile.REGTYPE, "")),
                                      "refusing path with '..'"),
    "archive: absolute path": _source_case(lambda: _tar(("/tmp/escape.c", b"x", tarfile.REGTYPE, "")),
                                           "refusing absolute path"),
    "archive: symlink out": _source_case(lambda: _tar(*GOOD, ("twice-1.0/evil", None, tarfile.SYMTYPE,
                                                              "../../../../etc/passwd")), "refusing"),
    "archive: absolute symlink": _source_case(lambda: _tar(*GOOD, ("twice-1.0/evil", None, tarfile.SYMTYPE,
                                                                   "/etc/passwd")), "refusing"),
    "archive: hardlink out": _source_case(lambda: _tar(*GOOD, ("twice-1.0/evil", None, tarfile.LNKTYPE,
                                                               "../../../etc/passwd")), "refusing"),
    "archive: device file": _source_case(lambda: _tar(*GOOD, ("twice-1.0/dev", None, tarfile.CHRTYPE, "")),
                                         "refusing"),
    "archive: fifo": _source_case(lambda: _tar(*GOOD, ("twice-1.0/pipe", None, tarfile.FIFOTYPE, "")), "refusing"),
    "archive: duplicate entry": _source_case(lambda: _tar(*GOOD, GOOD[0]), "duplicate"),
    "archive: huge claimed size": _source_case(lambda: _tar(*GOOD), "unpacks to more than 100 bytes", CWPKG_MAX_UNPACK="100"),
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
    # command lines
    "cli: unknown flag": _cli_case(["install", "--frobnicate", "twice"], 2, "unrecognized arguments"),
    "cli: conflicting options": _cli_case(["install", "--all", "twice"], 2, "not both"),
    "cli: unknown package": _cli_case(["install", "nosuch"], 2, "unknown package 'nosuch'"),
    "cli: zero jobs": _cli_case(["install", "-j", "0", "twice"], 2, "must be at least 1"),
    "cli: locked without a lockfile": _cli_case(["install", "--locked"], 2, "no lockfile here"),
    "cli: link a text file": _cli_case(["link", "README.md"], 2, "neither Crystal source (.cr) nor a wasm32 object"),
    "cli: sysroot is a file": _env_case(lambda s: {"CWPKG_SYSROOT": str(s.root / "recipes" / "add.yaml")},
                                        ["install", "twice"], 9, "is not a directory"),
    "cli: sysroot inside the cache": _env_case(lambda s: {"CWPKG_SYSROOT": str(Path(s.env["CWPKG_CACHE"]) / "sr")},
                                               ["install", "twice"], 2, "inside the cache"),
    "cli: sysroot under a file": _env_case(lambda s: {"CWPKG_SYSROOT": str(s.root / "recipes" / "add.yaml" / "x")},
                                           ["install", "twice"], 9, "cannot use this sysroot"),
    # environment
    "env: no toolchain": _env_case(lambda s: {"PATH": str(s.tmp / "empty-path")}, ["install", "twice"], 7,
                                   "no WebAssembly C toolchain found"),
    "env: toolchain too old": _env_case(lambda s: _fake_prefix(s, "15", True), ["install", "twice"], 7,
                                        "is clang version 15; wasm32-wasi builds need LLVM 16 or newer"),
    "env: no compiler-rt": _env_case(lambda s: _fake_prefix(s, "19", False), ["install", "twice"], 7,
                                     "has no wasm32 compiler-rt builtins"),
    "env: no wasm-ld": _env_case(lambda s: _fake_prefix(s, "19", True, wasm_ld=False), ["install", "twice"], 7,
                                 "incomplete toolchain, missing"),
    "env: unreachable sources": _env_case(lambda s: {"CWPKG_MIRRORS": str(s.tmp / "empty-mirror")},
                                          ["install", "twice", "--quiet"], 4, "twice"),
}


@pytest.fixture
def setting(tmp_path: Path) -> Setting:
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    env = env_for(root, mirror, tmp_path / "cache", CWPKG_RETRIES="1", CWPKG_TIMEOUT="2", CWPKG_BACKOFF="0")
    assert run_cwpkg("install", "add", env=env).returncode == 0
    (tmp_path / "empty-path").mkdir()
    (tmp_path / "empty-mirror").mkdir()
    return Setting(root, env, tmp_path)


def test_the_catalog_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_gets_one_clear_error_and_changes_nothing(setting, name):
    case = CASES[name]
    args = case.prepare(setting)
    if name == "env: unreachable sources":
        (setting.root / "mirror" / "twice-1.0.tar.gz").unlink()
    sysroot, cache = setting.root / "sysroot", Path(setting.env["CWPKG_CACHE"])
    before = (snapshot(sysroot), snapshot(cache))
    result = run_cwpkg(*args, env=setting.env, timeout=120)
    assert result.returncode == case.exit_code, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert case.message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert (snapshot(sysroot), snapshot(cache)) == before, "the sysroot and the caches are as they were"
    assert not list(setting.tmp.glob("escape*")) and not (setting.root / "outside.c").exists()


def test_disk_full_gets_one_clear_error_and_changes_nothing(setting):
    """The sysroot on a small tmpfs, filled up but for a few KiB (when this machine allows mounting)."""
    import shutil
    import subprocess

    mount = setting.tmp / "small-fs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        sysroot = mount / "sysroot"
        env = {**setting.env, "CWPKG_SYSROOT": str(sysroot)}
        assert run_cwpkg("install", "add", env=env).returncode == 0
        (mount / "filler").write_bytes(b"\0" * (shutil.disk_usage(mount).free - 4096))
        before = (snapshot(sysroot), snapshot(Path(env["CWPKG_CACHE"])))
        result = run_cwpkg("install", "twice", env=env)
        assert result.returncode == 9, result.stderr
        assert result.stderr.count("error:") == 1 and "no space left on the device" in result.stderr
        assert (snapshot(sysroot), snapshot(Path(env["CWPKG_CACHE"]))) == before
        (mount / "filler").unlink()
        assert run_cwpkg("install", "twice", env=env).returncode == 0, "after freeing space the next run works"
    finally:
        subprocess.run(["umount", str(mount)], check=False)
