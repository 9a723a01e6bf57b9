"""`cwpkg link` and `run` refuse bad input with one clear message, a documented exit code, and no change."""

from __future__ import annotations

import shutil
import stat
import subprocess
import textwrap

import pytest
from helpers import REPO, run_cwpkg, snapshot

from cwpkg.toolchain.detect import INSTALL_HINT


@pytest.fixture
def isolated(tmp_path) -> dict[str, str]:
    return {"CWPKG_CACHE": str(tmp_path / "cache"), "CWPKG_SYSROOT": str(tmp_path / "sysroot")}


def test_a_file_that_is_neither_crystal_nor_an_object_is_refused(isolated, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = run_cwpkg("link", str(notes), env=isolated)
    assert result.returncode == 2
    assert f"{notes}: neither Crystal source (.cr) nor a wasm32 object file" in result.stderr
    missing = run_cwpkg("link", str(tmp_path / "nothere.cr"), env=isolated)
    assert missing.returncode == 2 and "nothere.cr: no such file" in missing.stderr


def test_a_compile_error_shows_the_compilers_message(isolated, tmp_path):
    source = tmp_path / "broken.cr"
    source.write_text('puts "ok"\nputs no_such_thing\n')
    result = run_cwpkg("link", str(source), env=isolated)
    assert result.returncode == 11
    assert "crystal 1.6.0 could not compile" in result.stderr and "no_such_thing" in result.stderr
    assert "\x1b[" not in result.stderr, "no terminal colours in cwpkg's messages"
    assert not (tmp_path / "sysroot").exists() and not (tmp_path / "broken.wasm").exists()


def test_a_library_no_recipe_provides_is_named(isolated, tmp_path):
    source = tmp_path / "foreign.cr"
    source.write_text(textwrap.dedent("""\
        @[Link("nosuchlib")]
        lib LibNoSuch
          fun nosuch_version : Int32
        end
        puts LibNoSuch.nosuch_version
        """))
    result = run_cwpkg("link", str(source), env=isolated)
    assert result.returncode == 11
    assert "the program links -lnosuchlib, and no recipe provides libnosuchlib.a" in result.stderr
    assert "fix: write a recipe that provides nosuchlib" in result.stderr
    assert not (tmp_path / "sysroot").exists()


def test_missing_crystal_says_what_to_install(isolated, tmp_path):
    source = tmp_path / "app.cr"
    source.write_text('puts "hi"\n')
    result = run_cwpkg("link", str(source), env={**isolated, "CWPKG_CRYSTAL": str(tmp_path / "no-crystal")})
    assert result.returncode == 7
    assert "Crystal compiler not found" in result.stderr and "apt-get install crystal" in result.stderr


def test_missing_wasm_ld_says_what_to_install(isolated, tmp_path):
    prefix = tmp_path / "llvm"
    (prefix / "bin").mkdir(parents=True)
    for tool in ("clang", "llvm-ar", "llvm-ranlib", "llvm-nm"):  # everything but wasm-ld
        (prefix / "bin" / tool).write_text("#!/bin/sh\nexit 0\n")
        (prefix / "bin" / tool).chmod(stat.S_IRWXU)
    source = tmp_path / "app.cr"
    source.write_text('puts "hi"\n')
    result = run_cwpkg("link", str(source), env={**isolated, "CWPKG_TOOLCHAIN": str(prefix)})
    assert result.returncode == 7
    assert f"incomplete toolchain, missing {prefix / 'bin' / 'wasm-ld'}" in result.stderr
    assert INSTALL_HINT in result.stderr


def test_bad_link_options_are_usage_errors(isolated, tmp_path):
    source = tmp_path / "app.cr"
    source.write_text('puts "hi"\n')
    result = run_cwpkg("link", str(source), "--stack-size", "12", env=isolated)
    assert result.returncode == 2 and "must be at least 64K" in result.stderr
    same = run_cwpkg("link", str(source), "-o", str(source), env=isolated)
    assert same.returncode == 2 and "would overwrite the input" in same.stderr


def test_bad_plugin_options_are_usage_errors_before_anything_is_compiled(isolated, tmp_path):
    """--reactor and --export: refused before the compiler runs, nothing written."""
    source = tmp_path / "app.cr"
    source.write_text("fun add(a : Int32, b : Int32) : Int32\n  a + b\nend\n")
    (tmp_path / "app.c").write_text("int add(int a, int b) { return a + b; }\n")
    subprocess.run(["clang-19", "--target=wasm32-wasi", "-c", str(tmp_path / "app.c"), "-o", str(tmp_path / "app.o")],
                   check=True)
    for args, message in [(["--export", "add"], "--export names a plugin's exported funs"),
                          (["--reactor", "--no-exceptions"], "leave out --no-exceptions and -Dgc_none"),
                          (["--reactor", "--", "-Dgc_none"], "leave out --no-exceptions and -Dgc_none"),
                          (["--reactor", "--export", "add-one"], "--export add-one: not the name of a Crystal fun"),
                          (["--reactor", "--export", "_initialize"], "the plugin defines _initialize itself"),
                          (["--reactor", "--run"], "a plugin (--reactor) has none")]:
        result = run_cwpkg("link", str(source), *args, env=isolated)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    on_object = run_cwpkg("link", str(tmp_path / "app.o"), "--reactor", env=isolated)
    assert on_object.returncode == 2 and "--reactor makes a plugin of a Crystal program" in on_object.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["app.c", "app.cr", "app.o"]


def test_run_refuses_what_is_not_a_linked_module(isolated, tmp_path):
    text = tmp_path / "app.cr"
    text.write_text('puts "hi"\n')
    result = run_cwpkg("run", str(text), env=isolated)
    assert result.returncode == 2 and "not a linked WebAssembly module" in result.stderr
    bad_dir = run_cwpkg("run", "--dir", str(tmp_path / "absent"), str(text), env=isolated)
    assert bad_dir.returncode == 2


def test_a_compat_patch_that_does_not_apply_names_itself_and_caches_nothing(isolated, tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "recipes", checkout / "recipes")
    shutil.copytree(REPO / "patches", checkout / "patches")
    (checkout / "patches" / "crystal" / "1.6.0" / "zz-stale.patch").write_text(textwrap.dedent("""\
        --- a/prelude.cr
        +++ b/prelude.cr
        @@ -1,3 +1,3 @@
         # a line that is not in this prelude
        -require "nothing"
        +require "something"
         # end
        """))
    source = tmp_path / "app.cr"
    source.write_text('puts "hi"\n')
    before = snapshot(tmp_path / "cache")
    result = run_cwpkg("link", str(source), env={**isolated, "CWPKG_RECIPES": str(checkout)})
    assert result.returncode == 6
    assert "patches/crystal/1.6.0/zz-stale.patch" in result.stderr and "Crystal 1.6.0" in result.stderr
    assert snapshot(tmp_path / "cache") == before


def test_compat_patches_for_the_installed_compiler_apply_once(tmp_path):
    """The patched standard library is made once per compiler version and patch set, then reused."""
    from cwpkg.crystal.compat import compat_patches, compat_stdlib
    from cwpkg.crystal.compiler import find_crystal

    compiler = find_crystal()
    patches = compat_patches(REPO, compiler.version)
    assert patches, f"Crystal {compiler.version} is installed here; its compat patches should exist"
    first = compat_stdlib(compiler, REPO, tmp_path)
    assert first.patches == patches and first.path != compiler.stdlib
    assert "LibC.fstat" in (first.path / "crystal" / "system" / "wasi" / "file_descriptor.cr").read_text()
    marker = first.path / "reused"
    marker.write_text("")
    assert compat_stdlib(compiler, REPO, tmp_path).path == first.path and marker.exists()
    assert "LibC.fstat" not in (compiler.stdlib / "crystal" / "system" / "wasi" / "file_descriptor.cr").read_text()
