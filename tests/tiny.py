"""A throwaway recipe checkout with two tiny real packages: `add`, and `twice` which depends on it.

They build in a second with the real toolchain (no libc needed), so engine, sysroot and patch tests
can run real builds quickly. Their sources are served from a mirror directory (CWPKG_MIRRORS).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from helpers import make_tarball

# DESTDIR assigned in the Makefile, as OpenSSL's does: only make's command line overrides it.
MAKEFILE = b"""\
DESTDIR =
lib$(NAME).a: $(NAME).o
\t$(AR) rcs $@ $(NAME).o
$(NAME).o: $(NAME).c
\t$(CC) $(CFLAGS) -c $(NAME).c -o $(NAME).o
t-%: t-%.c lib$(NAME).a
	$(CC) $(CFLAGS) -nostdlib $< lib$(NAME).a -o $@
install: lib$(NAME).a
\tmkdir -p $(DESTDIR)$(PREFIX)/$(LIB_DIR) $(DESTDIR)$(PREFIX)/include
\tcp lib$(NAME).a $(DESTDIR)$(PREFIX)/$(LIB_DIR)/
\tcp $(NAME).h $(DESTDIR)$(PREFIX)/include/
"""

SOURCES = {
    "add": {
        "add.c": b"/* add */\nint add(int a, int b) {\n    return a + b;\n}\n",
        "add.h": b"int add(int a, int b);\n",
        # test programs for suite tests: no libc, so they end through WASI's proc_exit themselves
        **{f"t-{name}.c": b'__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit")))\n'
           b"void proc_exit(int code);\nint add(int a, int b);\n"
           b"void _start(void) {\n" + body + b"\n}\n"
           for name, body in (("pass", b"    proc_exit(add(2, 3) == 5 ? 0 : 1);"),
                              ("fail", b"    proc_exit(add(2, 2) == 5 ? 0 : 1);"),
                              ("trap", b"    __builtin_trap();"),
                              ("skip", b"    proc_exit(77);"),
                              ("loop", b"    for (volatile int i = 0; i >= 0; i = add(i, 0)) {}"))},
    },
    "twice": {
        "twice.c": b'/* twice */\n#include <add.h>\nint twice(int a) {\n    return add(a, a);\n}\n',
        "twice.h": b"int twice(int a);\n",
    },
}

# Each patch changes a source file and the header the package installs, so that an installed package
# shows whether its patch was applied.
PATCHES = {
    "add": "--- a/add.c\n+++ b/add.c\n@@ -1,2 +1,2 @@\n-/* add */\n+/* add, patched */\n int add(int a, int b) {\n"
           "--- a/add.h\n+++ b/add.h\n@@ -1 +1 @@\n-int add(int a, int b);\n+int add(int a, int b); /* patched */\n",
    "twice": "--- a/twice.c\n+++ b/twice.c\n@@ -1,2 +1,2 @@\n-/* twice */\n+/* twice, patched */\n #include <add.h>\n"
             "--- a/twice.h\n+++ b/twice.h\n@@ -1 +1 @@\n-int twice(int a);\n+int twice(int a); /* patched */\n",
}


def tarball(name: str) -> bytes:
    return make_tarball({**SOURCES[name], "Makefile": MAKEFILE}, top=f"{name}-1.0")


def recipe(name: str, sha256: str, url: str, depends: list[str]) -> dict:
    return {
        "name": name,
        "version": "1.0",
        "summary": f"tiny test library {name}",
        "license": "MIT",
        "homepage": "https://example.invalid/",
        "sources": [{"url": url, "sha256": sha256}],
        "patches": [f"{name}/fix.patch"],
        "depends": depends,
        "build": {"kind": "make", "make_args": [f"NAME={name}", "PREFIX={prefix}", "LIB_DIR={lib_dir}"]},
        "provides": {"libs": [name], "headers": [f"{name}.h"]},
    }


def write_repo(root: Path, url_base: str = "https://example.invalid/dist") -> Path:
    """Writes recipes/, patches/ and a mirror directory holding the tarballs; returns the mirror."""
    mirror = root / "mirror"
    for directory in (root / "recipes", mirror):
        directory.mkdir(parents=True, exist_ok=True)
    for name, depends in (("add", []), ("twice", ["add"])):
        data = tarball(name)
        (mirror / f"{name}-1.0.tar.gz").write_bytes(data)
        sha256 = hashlib.sha256(data).hexdigest()
        document = recipe(name, sha256, f"{url_base}/{name}-1.0.tar.gz", depends)
        (root / "recipes" / f"{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        patch_dir = root / "patches" / name
        patch_dir.mkdir(parents=True, exist_ok=True)
        (patch_dir / "fix.patch").write_text(PATCHES[name])
    return mirror


def env_for(root: Path, mirror: Path, cache: Path, **extra: str) -> dict[str, str]:
    return {"CWPKG_RECIPES": str(root), "CWPKG_MIRRORS": str(mirror), "CWPKG_CACHE": str(cache),
            "CWPKG_SYSROOT": str(root / "sysroot"), **extra}
