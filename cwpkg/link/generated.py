"""C sources the link writes for one program (catchers, settings, tables), compiled for wasm32."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cwpkg.errors import ProgramError
from cwpkg.sysroot import Sysroot
from cwpkg.toolchain import Toolchain


def c_string_literal(text: str) -> str:
    """`text` as a C string literal, its UTF-8 bytes but letters and digits in octal."""
    return '"' + "".join(chr(byte) if chr(byte).isascii() and chr(byte).isalnum() else f"\\{byte:03o}"
                         for byte in text.encode("utf-8")) + '"'


def compile_generated(toolchain: Toolchain, sysroot: Sysroot, stem: str, source: str, scratch: Path,
                      what: str, hint: str | None = None) -> Path:
    """`source` written to `scratch`/STEM.c and compiled (-O2) to STEM.o, returned; `what` names it
    in the error if the compiler refuses."""
    written, compiled = scratch / f"{stem}.c", scratch / f"{stem}.o"
    written.write_text(source)
    result = subprocess.run([*toolchain.compiler(sysroot.root), "-O2", "-c", str(written), "-o", str(compiled)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ProgramError(f"compiling {what} failed:\n{result.stderr.strip()[-2000:]}", hint=hint)
    return compiled
