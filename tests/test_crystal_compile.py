"""cwpkg.crystal's compilation: the native link of a macro `run` helper (cwpkg.crystal.host_cc) loses
the sysroot's library directories, in both spellings, and keeps everything else in order; the link
line crystal prints is split as a shell would split it."""

from __future__ import annotations

from pathlib import Path

from cwpkg.crystal.host_cc import host_arguments


def test_only_the_sysroots_library_directories_are_dropped(tmp_path: Path) -> None:
    sysroot = tmp_path / "sysroot"
    (sysroot / "lib" / "wasm32-wasi").mkdir(parents=True)
    arguments = ["-o", "macro_run", "-rdynamic", f"-L{sysroot}/lib/wasm32-wasi", "-lm", "-lgc",
                 "-L", f"{sysroot}/lib/pkgconfig/../../lib/wasm32-wasi", "-levent", "-L/usr/lib/x86_64-linux-gnu",
                 "-L", "/opt/lib", "main.o"]
    assert host_arguments(arguments, sysroot.resolve()) == [
        "-o", "macro_run", "-rdynamic", "-lm", "-lgc", "-levent", "-L", "/usr/lib/x86_64-linux-gnu",
        "-L", "/opt/lib", "main.o"]


def test_a_link_line_with_command_substitutions_is_split_as_a_shell_would(tmp_path: Path) -> None:
    """crystal prints `@[Link(ldflags: ...)]` as written, backticks and all (OpenSSL's bindings ask
    pkg-config, or fall back to printf); the link line's words are what a shell makes of it."""
    import os

    from cwpkg.crystal.compile import shell_words

    line = ("/usr/bin/wasm-ld main.o -o app `command -v pkg-config > /dev/null && pkg-config --libs "
            "--silence-errors libssl || printf %s '-lssl -lcrypto'` -lpcre 'with space' $(printf %s -lz)")
    words = shell_words(line, {**os.environ, "PKG_CONFIG_LIBDIR": str(tmp_path)})
    assert words == ["/usr/bin/wasm-ld", "main.o", "-o", "app", "-lssl", "-lcrypto", "-lpcre", "with space", "-lz"]
