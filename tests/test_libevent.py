"""libevent as users link it: `-levent` (core and extra, as upstream's libevent) and pkg-config's
libevent, from C and from Crystal's own binding, against a real sysroot; each program's output is
what the same program prints built natively against the host's libevent."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest
from helpers import REPO, run_cwpkg

pytestmark = pytest.mark.slow

FIXTURES = REPO / "tests" / "fixtures" / "libevent"
C_PROGRAM = FIXTURES / "uses_libevent.c"


def _native_libevent_flags() -> list[str]:
    """The host's libevent (Debian's libevent-dev, which the crystal package depends on)."""
    found = subprocess.run(["pkg-config", "--cflags", "--libs", "libevent"], capture_output=True, text=True)
    if shutil.which("gcc") is None or found.returncode != 0:
        pytest.skip("no native gcc and libevent (libevent-dev) to take the expected output from")
    return shlex.split(found.stdout)


@pytest.fixture(scope="module")
def native_output(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("native-libevent")
    subprocess.run(["gcc", "-Wall", "-o", str(work / "native"), str(C_PROGRAM), *_native_libevent_flags()],
                   check=True)
    result = subprocess.run([str(work / "native")], capture_output=True, text=True, cwd=work)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _env_shell(full_sysroot, script: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'eval "$({sys.executable} -m cwpkg env --shell)" && {script}'],
                          capture_output=True, text=True, cwd=cwd, env={**full_sysroot, "PATH": "/usr/bin:/bin"})


def test_c_program_linking_levent_through_cwpkg_link_prints_what_the_native_build_prints(
        full_sysroot, native_output, tmp_path):
    clang = run_cwpkg("toolchain").stdout.split("clang     ")[1].split()[0]
    obj = tmp_path / "uses_libevent.o"
    subprocess.run([clang, "--target=wasm32-wasi", f"--sysroot={full_sysroot['CWPKG_SYSROOT']}", "-c",
                    str(C_PROGRAM), "-o", str(obj)], check=True)
    result = run_cwpkg("link", str(obj), "-o", str(tmp_path / "uses_libevent.wasm"), "--run", "--", "-levent",
                       env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "with libevent 2.1.12" in result.stderr
    assert result.stdout == native_output
    assert "uri: scheme http host example.org" in native_output and "untagged: cafe" in native_output


def test_pkg_config_names_levent_and_the_cwpkg_env_toolchain_builds_with_it(full_sysroot, native_output, tmp_path):
    flags = _env_shell(full_sysroot, "pkg-config --libs libevent; pkg-config --cflags libevent; "
                                     "pkg-config --libs libevent_core; pkg-config --libs libevent_extra", tmp_path)
    assert flags.returncode == 0, flags.stderr
    libs, cflags, core, extra = flags.stdout.splitlines()
    lib_dir = os.path.realpath(os.path.join(full_sysroot["CWPKG_SYSROOT"], "lib", "wasm32-wasi"))
    assert [os.path.realpath(word[2:]) if word.startswith("-L") else word for word in libs.split()] == \
        [lib_dir, "-levent"]
    assert "-levent_core" in core.split() and "-levent_extra" in extra.split()
    assert os.path.realpath(cflags.split()[0][2:]) == os.path.realpath(
        os.path.join(full_sysroot["CWPKG_SYSROOT"], "include"))
    shutil.copy(C_PROGRAM, tmp_path / "uses_libevent.c")
    build = _env_shell(full_sysroot, '$CC $CFLAGS uses_libevent.c -o uses_libevent.wasm '
                                     '$(pkg-config --cflags --libs libevent) $LDFLAGS', tmp_path)
    assert build.returncode == 0, build.stdout + build.stderr
    result = run_cwpkg("run", str(tmp_path / "uses_libevent.wasm"), env=full_sysroot)
    assert (result.returncode, result.stdout) == (0, native_output), result.stderr


def test_crystal_libevent_binding_links_event_and_runs_as_natively(full_sysroot, tmp_path):
    """Crystal's LibEvent2 links `event` (pkg-config's libevent) and binds core and DNS functions."""
    source = FIXTURES / "uses_lib_event2.cr"
    native = subprocess.run(["crystal", "run", str(source)], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "CRYSTAL_CACHE_DIR": str(tmp_path / "cache")})
    assert native.returncode == 0, native.stderr
    result = run_cwpkg("link", str(source), "-o", str(tmp_path / "uses_lib_event2.wasm"), "--run",
                       env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "libevent 2.1.12" in result.stderr
    assert result.stdout == native.stdout
    assert "fired: 1" in native.stdout
