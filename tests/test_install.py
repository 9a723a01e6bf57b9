"""`cwpkg install` end to end on tiny real packages: builds, no-op runs, exact rebuilds, failures."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml
from helpers import run_cwpkg, snapshot
from tiny import env_for, write_repo

from cwpkg.wasm.module import defined_symbols


@pytest.fixture
def repo(tmp_path: Path):
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    return root, env_for(root, mirror, tmp_path / "cache")


def install(env, *args: str):
    return run_cwpkg("install", "--quiet", *args, env=env)


def test_install_builds_dependencies_first_and_installs_relocatable_files(repo):
    root, env = repo
    result = install(env, "twice")
    assert result.returncode == 0, result.stderr
    assert "built: add, twice; installed: add, twice" in result.stdout
    sysroot = root / "sysroot"
    assert (sysroot / "lib/wasm32-wasi/libadd.a").is_file()
    assert (sysroot / "lib/wasm32-wasi/libtwice.a").is_file()
    assert (sysroot / "include/twice.h").read_text() == "int twice(int a); /* patched */\n", "its patch was applied"
    manifest = json.loads((sysroot / ".cwpkg/installed/twice.json").read_text())
    assert sorted(manifest["files"]) == ["include/twice.h", "lib/wasm32-wasi/libtwice.a"]
    assert manifest["depends"] == ["add"]
    assert "twice" in defined_symbols(sysroot / "lib/wasm32-wasi/libtwice.a"), "a real wasm32 library"


def test_second_install_does_no_work(repo):
    root, env = repo
    assert install(env, "twice").returncode == 0
    before = snapshot(root / "sysroot")
    again = install(env, "twice")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert snapshot(root / "sysroot") == before


def test_companions_are_installed_with_the_package_that_names_them(repo):
    """As cwpkg-rt with bdwgc: a companion may even depend on the package that names it."""
    root, env = repo
    path = root / "recipes" / "add.yaml"
    document = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**document, "companions": ["twice"]}, sort_keys=False))
    result = install(env, "add")
    assert result.returncode == 0, result.stderr
    assert "built: add, twice; installed: add, twice" in result.stdout, result.stdout
    path.write_text(yaml.safe_dump({**document, "companions": ["thrice"]}, sort_keys=False))
    unknown = install(env, "add")
    assert unknown.returncode == 3 and "key 'companions': no recipe named 'thrice'" in unknown.stderr


def test_changing_a_patch_rebuilds_that_package_and_its_dependents_only(repo):
    root, env = repo
    assert install(env, "twice").returncode == 0
    patch = root / "patches/twice/fix.patch"
    patch.write_text(patch.read_text().replace("twice, patched", "twice, patched again"))
    result = run_cwpkg("install", "-q", "--explain", "twice", env=env)
    assert result.returncode == 0, result.stderr
    assert "built: twice; installed: twice" in result.stdout
    assert "because `" in result.stdout and "patches/twice/fix.patch' changed" in result.stdout

    patch = root / "patches/add/fix.patch"
    patch.write_text(patch.read_text().replace("add, patched", "add, patched again"))
    result = install(env, "twice")
    assert "built: add, twice; installed: add, twice" in result.stdout, result.stdout + result.stderr


def test_identity_of_a_package_includes_its_dependencies(repo):
    root, env = repo
    assert install(env, "twice").returncode == 0
    first = {name: json.loads((root / f"sysroot/.cwpkg/installed/{name}.json").read_text())["identity"]
             for name in ("add", "twice")}
    patch = root / "patches/add/fix.patch"
    patch.write_text(patch.read_text().replace("add, patched", "add, changed"))
    assert install(env, "twice").returncode == 0
    second = {name: json.loads((root / f"sysroot/.cwpkg/installed/{name}.json").read_text())["identity"]
              for name in ("add", "twice")}
    assert first["add"] != second["add"] and first["twice"] != second["twice"]


def test_patch_that_does_not_apply_stops_with_the_hunk_and_changes_nothing(repo, tmp_path):
    root, env = repo
    assert install(env, "add").returncode == 0
    (root / "patches/twice/fix.patch").write_text(
        "--- a/twice.c\n+++ b/twice.c\n@@ -1,2 +1,2 @@\n-/* not there */\n+/* x */\n #include <add.h>\n")
    sysroot_before, cache_before = snapshot(root / "sysroot"), snapshot(tmp_path / "cache")
    result = install(env, "twice")
    assert result.returncode == 6
    assert "patches/twice/fix.patch" in result.stderr and "hunk #1 of twice.c does not apply" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("cwpkg: error")]) == 1
    assert snapshot(root / "sysroot") == sysroot_before
    assert snapshot(tmp_path / "cache") == cache_before


def test_failing_build_reports_the_log_and_installs_nothing(repo):
    root, env = repo
    (root / "patches/add/fix.patch").write_text(
        "--- a/add.c\n+++ b/add.c\n@@ -1,2 +1,2 @@\n-/* add */\n+#error deliberately broken\n int add(int a, int b) {\n")
    result = install(env, "add")
    assert result.returncode == 8
    assert "add: make failed" in result.stderr and "deliberately broken" in result.stderr
    assert not (root / "sysroot/lib").exists()
    assert not (root / "sysroot/.cwpkg/installed/add.json").exists()


def test_uninstall_removes_exactly_the_package_files_and_respects_dependents(repo):
    root, env = repo
    assert install(env, "twice").returncode == 0
    refused = run_cwpkg("uninstall", "add", env=env)
    assert refused.returncode == 9 and "twice depends on add" in refused.stderr
    assert run_cwpkg("uninstall", "twice", env=env).returncode == 0
    assert not (root / "sysroot/include/twice.h").exists()
    assert (root / "sysroot/include/add.h").exists()
    listing = run_cwpkg("list", env=env)
    assert "add" in listing.stdout and "twice" not in listing.stdout
    # Reinstalling takes the built archive again: nothing is compiled.
    again = install(env, "twice")
    assert "built: -; installed: twice" in again.stdout


def test_install_refuses_to_overwrite_a_file_no_package_owns(repo):
    root, env = repo
    (root / "sysroot/include").mkdir(parents=True)
    (root / "sysroot/include/add.h").write_text("mine\n")
    result = install(env, "add")
    assert result.returncode == 9
    assert "add.h, a file no package owns" in result.stderr
    assert (root / "sysroot/include/add.h").read_text() == "mine\n"


def test_info_and_list_show_version_sources_patches_and_toolchain(repo):
    root, env = repo
    assert install(env, "add").returncode == 0
    info = run_cwpkg("info", "add", env=env)
    assert info.returncode == 0
    for expected in ("add 1.0: tiny test library add", "https://example.invalid/dist/add-1.0.tar.gz",
                     "patches/add/fix.patch", "installed: 1.0", "toolchain: system LLVM"):
        assert expected in info.stdout, info.stdout
    assert run_cwpkg("list", env=env).stdout.startswith("add ")


def test_concurrent_installs_on_one_sysroot_serialize_and_both_succeed(repo):
    root, env = repo
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("CWPKG_")}, **env}
    runs = [subprocess.Popen([sys.executable, "-m", "cwpkg", "install", "-q", "twice"], env=full_env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    built = [out for out, _ in outputs if "built: add, twice" in out]
    assert len(built) == 1, outputs  # the second waited for the lock, then found everything up to date


@pytest.mark.parametrize("args, message", [
    (["install"], "name the packages to install, or use --all"),
    (["install", "--all", "add"], "give package names or --all, not both"),
    (["install", "nosuch"], "unknown package 'nosuch'"),
    (["install", "-j", "0", "add"], "must be at least 1"),
    (["install", "--bogus", "add"], "unrecognized arguments: --bogus"),
])
def test_bad_command_lines_exit_2_with_one_message(repo, args, message):
    root, env = repo
    result = run_cwpkg(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (root / "sysroot").exists()


def test_failed_first_install_leaves_no_sysroot_and_no_cache(repo, tmp_path):
    root, env = repo
    (root / "patches/add/fix.patch").write_text(
        "--- a/add.c\n+++ b/add.c\n@@ -1,2 +1,2 @@\n-/* other */\n+/* x */\n int add(int a, int b) {\n")
    result = install(env, "twice")
    assert result.returncode == 6, result.stderr
    assert not (root / "sysroot").exists()
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("name, kind, link", [
    ("add-1.0/../../escape.c", tarfile.REGTYPE, ""),
    ("/abs/escape.c", tarfile.REGTYPE, ""),
    ("add-1.0/evil", tarfile.SYMTYPE, "../../../../etc/passwd"),
])
def test_hostile_source_archive_with_the_right_checksum_is_refused(tmp_path, name, kind, link):
    """The checksum only proves the bytes are the pinned ones; the archive is checked all the same."""
    root = tmp_path / "checkout"
    mirror = write_repo(root)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, link, 0 if kind != tarfile.REGTYPE else 5
        tar.addfile(info, io.BytesIO(b"evil\n") if kind == tarfile.REGTYPE else None)
    data = buffer.getvalue()
    (mirror / "add-1.0.tar.gz").write_bytes(data)
    recipe = root / "recipes/add.yaml"
    recipe.write_text(recipe.read_text().replace(re.search(r"sha256: (\w+)", recipe.read_text())[1],
                                                 hashlib.sha256(data).hexdigest()))
    env = env_for(root, mirror, tmp_path / "cache")
    result = install(env, "add")
    assert result.returncode == 5, result.stderr
    assert "refusing" in result.stderr and "add-1.0.tar.gz" in result.stderr
    assert not (root / "sysroot").exists() and not (tmp_path / "cache").exists()
    assert not (tmp_path / "escape.c").exists()


BROKEN_ADD_PATCH = "--- a/add.c\n+++ b/add.c\n@@ -1,2 +1,2 @@\n-/* other */\n+/* x */\n int add(int a, int b) {\n"


@pytest.mark.parametrize("first", ["succeeding", "failing"])
def test_a_failing_first_install_never_removes_what_a_concurrent_one_installed(tmp_path, http_server, first):
    """Two first installs into a sysroot that does not exist yet, one of them failing. The failing one
    made the sysroot (it started first) and may remove it only while nothing is installed there:
    when it fails first the other one makes the sysroot again; when it fails last (its source comes
    from a slow server, so the other installs meanwhile) the other's package stays."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    write_repo(good)
    bad_mirror = write_repo(bad)
    (bad / "patches/add/fix.patch").write_text(BROKEN_ADD_PATCH)
    if first == "failing":  # ... and fails last
        http_server.add("/add-1.0.tar.gz", (bad_mirror / "add-1.0.tar.gz").read_bytes(), "slow")
        recipe = bad / "recipes" / "add.yaml"
        document = yaml.safe_load(recipe.read_text())
        document["sources"][0]["url"] = f"{http_server.base}/add-1.0.tar.gz"
        recipe.write_text(yaml.safe_dump(document))
        (bad_mirror / "add-1.0.tar.gz").unlink()
    shared = {"CWPKG_SYSROOT": str(tmp_path / "shared-sysroot"), "CWPKG_TIMEOUT": "10"}
    commands = {"succeeding": env_for(good, good / "mirror", tmp_path / "cache-good", **shared),
                "failing": env_for(bad, bad_mirror, tmp_path / "cache-bad", **shared)}
    base = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
    order = [first, "failing" if first == "succeeding" else "succeeding"]
    runs = {}
    for name in order:
        runs[name] = subprocess.Popen([sys.executable, "-m", "cwpkg", "install", "-q", "add"],
                                      env={**base, **commands[name]}, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
    outputs = {name: run.communicate(timeout=300) for name, run in runs.items()}
    assert runs["succeeding"].returncode == 0, outputs
    assert runs["failing"].returncode == 6, outputs
    verified = run_cwpkg("verify", "--no-lock", env=commands["succeeding"])
    assert verified.returncode == 0 and "of 1 packages" in verified.stdout, verified.stdout + verified.stderr


@pytest.mark.parametrize("first", ["succeeding", "failing"])
def test_a_failing_fetch_never_removes_what_a_concurrent_one_downloaded(tmp_path, first):
    """Two fetches into a cache that does not exist yet, one of them failing."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    mirror = write_repo(good)
    write_repo(bad)
    recipe = bad / "recipes" / "twice.yaml"
    recipe.write_text(re.sub(r"sha256: \w+", f"sha256: '{'0' * 64}'", recipe.read_text()))  # a file no one has
    (tmp_path / "empty").mkdir()
    cache = {"CWPKG_CACHE": str(tmp_path / "shared-cache")}
    commands = {"succeeding": {"CWPKG_RECIPES": str(good), "CWPKG_MIRRORS": str(mirror), **cache},
                "failing": {"CWPKG_RECIPES": str(bad), "CWPKG_MIRRORS": str(tmp_path / "empty"), **cache,
                            "CWPKG_RETRIES": "1"}}
    base = {key: value for key, value in os.environ.items() if not key.startswith("CWPKG_")}
    runs = {}
    for name in [first, "failing" if first == "succeeding" else "succeeding"]:
        runs[name] = subprocess.Popen([sys.executable, "-m", "cwpkg", "fetch", *(["add"] if name == "succeeding"
                                                                                 else ["twice"])],
                                      env={**base, **commands[name]}, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
    outputs = {name: run.communicate(timeout=300) for name, run in runs.items()}
    assert runs["succeeding"].returncode == 0 and runs["failing"].returncode == 4, outputs
    cached = sorted(path.name for path in (tmp_path / "shared-cache" / "sources").glob("*/*"))
    assert cached == ["add-1.0.tar.gz"]


def test_build_environments_get_no_secrets(tmp_path, monkeypatch):
    """A binary cache token (or any other variable) of the caller never reaches configure, make and
    their logs; only the variables a build needs do."""
    from cwpkg.builds.environment import BuildDirs, build_environment, placeholders
    from cwpkg.recipes.book import RecipeBook
    from cwpkg.sysroot.sysroot import Sysroot
    from cwpkg.toolchain.detect import detect_toolchain

    root = tmp_path / "checkout"
    write_repo(root)
    monkeypatch.setenv("CWPKG_BINARY_CACHE_TOKEN", "s3cret-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cret-key")
    dirs = BuildDirs(src=tmp_path / "src", destdir=tmp_path / "dest", sysroot=Sysroot(tmp_path / "sysroot"))
    toolchain, recipe = detect_toolchain(None), RecipeBook(root).get("add")
    env = build_environment(toolchain, recipe, dirs, placeholders(toolchain, recipe, dirs, 1))
    assert "s3cret" not in " ".join(f"{key}={value}" for key, value in env.items())
    assert env["PATH"] == os.environ["PATH"] and env["SOURCE_DATE_EPOCH"]


@pytest.mark.parametrize("how, status, message", [("SIGINT", 130, "cwpkg: interrupted"),
                                                  ("SIGTERM", 143, "cwpkg: terminated")])
def test_an_interrupted_build_stops_at_once_and_changes_nothing(repo, tmp_path, how, status, message):
    """Ctrl-C (SIGINT to the process group) or SIGTERM (to cwpkg alone) during a build: cwpkg and the
    build tools stop, and the sysroot and cache are as they were."""
    root, env = repo
    assert install(env, "add").returncode == 0
    recipe = root / "recipes" / "twice.yaml"
    document = yaml.safe_load(recipe.read_text())
    document["build"]["make_args"].append("AR=sh -c 'sleep 60; exec \"$$0\" \"$$@\"' {ar}")
    recipe.write_text(yaml.safe_dump(document))
    before = (snapshot(root / "sysroot"), snapshot(tmp_path / "cache"))
    process = subprocess.Popen([sys.executable, "-m", "cwpkg", "install", "twice"], start_new_session=True,
                               env={**{k: v for k, v in os.environ.items() if not k.startswith("CWPKG_")}, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # in the build's slow archive step by now
    started = time.monotonic()
    if how == "SIGINT":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < 20, "the build tools stopped too"
    assert process.returncode == status and message in stderr, stderr
    assert "error:" not in stderr and "Traceback" not in stderr, stderr
    assert (snapshot(root / "sysroot"), snapshot(tmp_path / "cache")) == before


def test_damaged_build_signatures_are_discarded_not_fatal(repo):
    """SCons's signature database only caches decisions; installed identities are what count."""
    root, env = repo
    assert install(env, "add").returncode == 0
    (root / "sysroot/.cwpkg/signatures.dblite").write_text("garbage\n")
    result = run_cwpkg("install", "twice", env=env)
    assert result.returncode == 0, result.stderr
    assert "unreadable build signatures discarded" in result.stderr and "built: twice" in result.stdout
    assert run_cwpkg("verify", "--no-lock", env=env).returncode == 0


def test_a_damaged_installed_archive_is_found_by_verify_and_repaired_by_install(repo):
    """The archive an installed package came from is part of its installed state: `cache push` and
    bundles rely on it."""
    root, env = repo
    assert install(env, "add").returncode == 0
    archive = root / "sysroot/.cwpkg/archives/add.tar.gz"
    archive.write_bytes(archive.read_bytes()[:100])
    verified = run_cwpkg("verify", "--no-lock", env=env)
    assert verified.returncode == 12 and "archive:  add's archive is damaged" in verified.stdout
    repaired = install(env, "add")
    assert repaired.returncode == 0 and "installed: add" in repaired.stdout, repaired.stdout + repaired.stderr
    assert run_cwpkg("verify", "--no-lock", env=env).returncode == 0
