"""`cwpkg link`, `run` and `env` on real Crystal programs, linked against a real sysroot, run under wasmtime."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import wasmtime
from helpers import REPO, run_cwpkg, sysroot_without

pytestmark = pytest.mark.slow

EXAMPLES = sorted(path.stem for path in (REPO / "examples").glob("*.cr"))


def _runs_as_natively(source, env: dict[str, str], directory) -> subprocess.CompletedProcess:
    """`source` run natively (`crystal run`) and linked and run by cwpkg, both in `directory`: the same
    output, exit 0. cwpkg's run, for its messages."""
    native = subprocess.run(["crystal", "run", str(source)], capture_output=True, text=True, cwd=directory)
    assert native.returncode == 0, native.stderr
    result = run_cwpkg("link", str(source), "-o", str(directory / f"{source.stem}.wasm"), "--run", env=env,
                       cwd=directory)
    assert (result.returncode, result.stdout) == (0, native.stdout), result.stderr
    return result


def test_there_is_an_example_for_every_library_the_stdlib_binds():
    assert {"hello", "regex", "bigint", "bigfloat", "xml", "xml_reader", "xml_errors", "yaml", "gzip", "digest"} \
        <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_prints_its_expected_output(full_sysroot, tmp_path, name):
    source = REPO / "examples" / f"{name}.cr"
    module = tmp_path / f"{name}.wasm"
    result = run_cwpkg("link", str(source), "-o", str(module), "--run", env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (REPO / "examples" / f"{name}.expected").read_text()
    assert f"linked {module}" in result.stderr
    assert list(tmp_path.iterdir()) == [module], "the example leaves nothing behind but its module"


def test_bigint_example_agrees_with_python(full_sysroot, tmp_path):
    result = run_cwpkg("link", str(REPO / "examples" / "bigint.cr"), "-o", str(tmp_path / "b.wasm"), "--run",
                       env=full_sysroot, cwd=tmp_path)
    digits = str(math.factorial(1000))
    assert result.stdout.splitlines() == [str(len(digits)), digits[:20], str(digits.count("0")), str(2 ** 100)]


def test_hello_links_in_place_and_runs_with_the_current_directory(full_sysroot, tmp_path):
    source = tmp_path / "hello.cr"
    shutil.copy(REPO / "examples" / "hello.cr", source)
    result = run_cwpkg("link", "hello.cr", "--run", env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "hello.wasm").is_file()
    assert "deleted: true" in result.stdout


def test_files_as_natively_and_chmod_linking(full_sysroot, tmp_path):
    """Crystal 1.6's WASI port left File.tempfile and File.utime unimplemented, File#chmod and
    File#utime unlinkable (fchmod, futimes), Errno.value= doing nothing, and Dir's errors without
    their File::NotFoundError class."""
    source = REPO / "tests/fixtures/files/files.cr"
    (tmp_path / "native").mkdir()
    native = subprocess.run(["crystal", "run", str(source)], capture_output=True, text=True, cwd=tmp_path / "native")
    assert native.returncode == 0, native.stderr
    module = tmp_path / "files.wasm"
    result = run_cwpkg("link", str(source), "-o", str(module), "--run", env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    native_lines, wasm_lines = native.stdout.splitlines(), result.stdout.splitlines()
    assert wasm_lines[:-1] == native_lines[:-1]
    assert (native_lines[-1], wasm_lines[-1]) == ("chmod: 600", "chmod: Not Implemented: Crystal::System::File.fchmod")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["files.wasm", "native"]


def test_text_encodings_as_natively(full_sysroot, tmp_path):
    """iconv garbled every non-ASCII character (wasi-libc's locale bug) and refused invalid: :skip."""
    _runs_as_natively(REPO / "tests/fixtures/encodings/encodings.cr", full_sysroot, tmp_path)


def test_a_library_installed_for_the_program_is_what_it_is_compiled_against(full_sysroot, tmp_path):
    """Crystal's OpenSSL binding asks pkg-config for the library's version while it compiles, and binds
    other functions below 1.1 (SSL_library_init): a program that makes cwpkg install openssl is
    compiled again once it is there, and runs as natively."""
    env = sysroot_without(full_sysroot, tmp_path, "openssl")
    (tmp_path / "run").mkdir()
    result = _runs_as_natively(REPO / "examples" / "digest.cr", env, tmp_path / "run")
    assert "openssl" in result.stderr


def test_a_program_whose_ir_has_comparison_constants_links_and_runs_as_natively(full_sysroot, tmp_path):
    """Crystal 1.6's LLVM writes some comparisons as constant expressions, which clang-19 no longer
    reads (cwpkg.crystal.ir.without_comparison_constants): Pointer(T)#copy_from with T a module."""
    _runs_as_natively(REPO / "tests/fixtures/ir/module_pointers.cr", full_sysroot, tmp_path)


def test_shards_in_lib_of_the_current_directory_are_found(full_sysroot, tmp_path):
    """As with `crystal build src/app.cr` in a project, `lib/` (where shards installs) is looked up in
    the current directory, not beside the source."""
    (tmp_path / "lib" / "greeting" / "src").mkdir(parents=True)
    (tmp_path / "lib" / "greeting" / "src" / "greeting.cr").write_text('module Greeting\n  WORD = "shard"\nend\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.cr").write_text('require "greeting"\nputs "hello from a #{Greeting::WORD}"\n')
    result = run_cwpkg("link", "src/app.cr", "-o", "app.wasm", "--run", env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from a shard\n"


def test_a_macro_run_helper_links_natively_while_the_program_links_for_wasm32(full_sysroot, tmp_path):
    """ECR templates are compiled by a helper program that crystal builds and runs natively; its native
    link must not meet the sysroot's wasm32 libraries (cwpkg.crystal.host_cc). The output is the
    native build's."""
    (tmp_path / "greeting.ecr").write_text("<% 3.times do |i| %>hello <%= name %> <%= i %>\n<% end %>")
    source = tmp_path / "app.cr"
    source.write_text('require "ecr"\n\nclass Greeting\n  def initialize(@name : String)\n  end\n\n'
                      '  def name\n    @name\n  end\n\n  ECR.def_to_s "#{__DIR__}/greeting.ecr"\nend\n\n'
                      'puts Greeting.new("wasm")\n')
    native = subprocess.run(["crystal", "run", "--no-color", str(source)], capture_output=True, text=True)
    assert native.returncode == 0, native.stderr
    result = run_cwpkg("link", str(source), "-o", "app.wasm", "--run", env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == native.stdout


def test_run_passes_arguments_environment_stdin_directories_and_exit_status(full_sysroot, tmp_path):
    source = tmp_path / "echo.cr"
    source.write_text(textwrap.dedent("""\
        puts ARGV.join("|")
        puts ENV["GREETING"]? || "no greeting"
        puts ENV["HOME"]? || "no home"
        puts STDIN.gets_to_end.upcase
        File.write("data/out.txt", "written by wasm")
        STDERR.puts "to stderr"
        exit 3
        """))
    assert run_cwpkg("link", str(source), env=full_sysroot).returncode == 0
    (tmp_path / "shared").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "cwpkg", "run", "--dir", f"{tmp_path / 'shared'}::data", "--env", "GREETING=hi there",
         str(tmp_path / "echo.wasm"), "a b", "--c", "-d"],
        input="piped in\n", capture_output=True, text=True, cwd=tmp_path, env={**full_sysroot, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 3
    assert result.stdout == "a b|--c|-d\nhi there\nno home\nPIPED IN\n"
    assert result.stderr == "to stderr\n"
    assert (tmp_path / "shared" / "out.txt").read_text() == "written by wasm"


def test_missing_libraries_are_named_or_installed(full_sysroot, tmp_path):
    """From an empty sysroot: --no-install names the recipes and changes nothing; without it, the
    driver builds them (from the shared source cache) and the program runs."""
    env = {**full_sysroot, "CWPKG_SYSROOT": str(tmp_path / "fresh")}
    source = REPO / "examples" / "gzip.cr"
    module = tmp_path / "gzip.wasm"
    refused = run_cwpkg("link", str(source), "-o", str(module), "--no-install", env=env)
    assert refused.returncode == 11
    assert "needs recipes not installed in" in refused.stderr, refused.stderr
    # the garbage collector and cwpkg's runtime with it, for every Crystal program
    assert "wasi-libc (-lc), zlib (-lz), bdwgc (-lgc), cwpkg-rt (-lgc)" in refused.stderr, refused.stderr
    assert "fix: cwpkg install wasi-libc zlib bdwgc cwpkg-rt" in refused.stderr
    assert not (tmp_path / "fresh").exists() and not module.exists()
    result = run_cwpkg("link", str(source), "-o", str(module), "--run", env=env)
    assert result.returncode == 0, result.stderr
    built = re.search(r"built: ([^;]+); installed: (.+)", result.stderr)
    assert built and set(built.group(1).split(", ")) == set(built.group(2).split(", ")) == \
        {"wasi-libc", "zlib", "bdwgc", "cwpkg-rt"}, result.stderr
    assert result.stdout == (REPO / "examples" / "gzip.expected").read_text()


def test_plain_crystal_build_and_cwpkg_link_work_after_cwpkg_env(full_sysroot, tmp_path):
    """After `eval "$(cwpkg env --shell)"` CRYSTAL_PATH names the patched stdlib: plain `crystal build`
    uses it, and `cwpkg link` still finds the compiler's own stdlib and keeps the user's own entries."""
    shutil.copy(REPO / "examples" / "bigint.cr", tmp_path / "app.cr")
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "greeting.cr").write_text('GREETING = "hello from a shard"\n')
    (tmp_path / "greet.cr").write_text('require "greeting"\nputs GREETING\n')
    script = (f'eval "$({sys.executable} -m cwpkg env --shell)" && '
              "crystal build app.cr --target wasm32-wasi -o app.wasm && "
              f'CRYSTAL_PATH="$PWD/shards:$CRYSTAL_PATH" {sys.executable} -m cwpkg link greet.cr -o greet.wasm')
    build = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                           env={**full_sysroot, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert build.returncode == 0, build.stdout + build.stderr
    result = run_cwpkg("run", str(tmp_path / "app.wasm"), env=full_sysroot)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "examples" / "bigint.expected").read_text()
    greeted = run_cwpkg("run", str(tmp_path / "greet.wasm"), env=full_sysroot)
    assert (greeted.returncode, greeted.stdout) == (0, "hello from a shard\n"), greeted.stderr


def test_cmake_toolchain_file_builds_c_against_the_sysroot(full_sysroot, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(textwrap.dedent("""\
        cmake_minimum_required(VERSION 3.13)
        project(zversion C)
        find_package(ZLIB REQUIRED)
        add_executable(zversion main.c)
        target_link_libraries(zversion ZLIB::ZLIB)
        """))
    (project / "main.c").write_text('#include <stdio.h>\n#include <zlib.h>\n'
                                    'int main(void) { printf("zlib %s\\n", zlibVersion()); return 0; }\n')
    script = (f'eval "$({sys.executable} -m cwpkg env --shell)" && '
              'cmake -S project -B build -DCMAKE_TOOLCHAIN_FILE="$CWPKG_CMAKE_TOOLCHAIN" >/dev/null && '
              "cmake --build build >/dev/null")
    build = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                           env={**full_sysroot, "PATH": "/usr/bin:/bin"})
    assert build.returncode == 0, build.stdout + build.stderr
    result = run_cwpkg("run", str(tmp_path / "build" / "zversion.wasm"), env=full_sysroot)
    assert result.stdout == "zlib 1.2.13\n"


def test_asyncify_runs_when_the_program_imports_it(full_sysroot, tmp_path):
    """A C object that calls the asyncify module's controls cannot even be instantiated unless
    wasm-opt's Asyncify pass implemented them; after `cwpkg link` it runs and exports the API."""
    source = tmp_path / "uses_asyncify.c"
    source.write_text(textwrap.dedent("""\
        #include <stdio.h>
        __attribute__((import_module("asyncify"), import_name("stop_unwind"))) void asyncify_stop_unwind(void);
        int main(void) { asyncify_stop_unwind(); puts("asyncify is there"); return 0; }
        """))
    clang = run_cwpkg("toolchain").stdout.split("clang     ")[1].split()[0]
    obj = tmp_path / "uses_asyncify.o"
    subprocess.run([clang, "--target=wasm32-wasi", f"--sysroot={full_sysroot['CWPKG_SYSROOT']}", "-c", str(source),
                    "-o", str(obj)], check=True)
    result = run_cwpkg("link", str(obj), "-o", str(tmp_path / "a.wasm"), "--run", env=full_sysroot)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "asyncify is there\n"
    assert "--asyncify --pass-arg=asyncify-ignore-imports" in result.stderr and "wasm-opt version" in result.stderr
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(tmp_path / "a.wasm"))
    assert {"asyncify_start_unwind", "asyncify_stop_rewind"} <= {export.name for export in module.exports}
    assert all(entry.module != "asyncify" for entry in module.imports)


def test_optimize_and_strip_make_a_smaller_module_with_the_same_output(full_sysroot, tmp_path):
    """On the gc/none build, which gets no wasm-opt run unless asked (a program with the GC runtime
    always gets -O1 after its Asyncify step, -O with --optimize)."""
    source = REPO / "examples" / "regex.cr"
    plain = run_cwpkg("link", str(source), "-o", str(tmp_path / "plain.wasm"), "--run", "--", "-Dgc_none",
                      env=full_sysroot, cwd=tmp_path)
    small = run_cwpkg("link", str(source), "-o", str(tmp_path / "small.wasm"), "-O", "--strip", "--run",
                      "--", "-Dgc_none", env=full_sysroot, cwd=tmp_path)
    assert plain.returncode == small.returncode == 0, small.stderr
    assert small.stdout == plain.stdout == (REPO / "examples" / "regex.expected").read_text()
    assert (tmp_path / "small.wasm").stat().st_size < (tmp_path / "plain.wasm").stat().st_size * 0.8
