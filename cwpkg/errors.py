"""Errors that cwpkg reports to the user: one clear message and a documented exit code."""

import errno


class CwpkgError(Exception):
    """Base of every error shown to the user without a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  fix: {self.hint}"


class UsageError(CwpkgError):
    """Bad command line: unknown flag, conflicting options, unknown package."""

    exit_code = 2


class RecipeError(CwpkgError):
    """A recipe file is malformed, or the recipes' dependencies cannot be resolved."""

    exit_code = 3


class FetchError(CwpkgError):
    """A source could not be downloaded, or no download matched its sha256."""

    exit_code = 4


class UnsafeArchiveError(CwpkgError):
    """An archive tried to write outside its directory or held something other than files."""

    exit_code = 5


class PatchError(CwpkgError):
    """A patch did not apply, or touched files outside the source tree."""

    exit_code = 6


class ToolchainError(CwpkgError):
    """No usable WebAssembly C toolchain (or another required tool) was found."""

    exit_code = 7


class BuildError(CwpkgError):
    """A package's build commands failed, or it did not install what it provides."""

    exit_code = 8


class SysrootError(CwpkgError):
    """The sysroot cannot be changed as asked (conflicting files, dependents, no write access)."""

    exit_code = 9


class CheckFailed(CwpkgError):
    """A recipe's test program, or a library's upstream test, failed under wasmtime."""

    exit_code = 10


class ProgramError(CwpkgError):
    """The user's program does not compile or link (its own error, or a library it needs is missing)."""

    exit_code = 11


class IntegrityError(CwpkgError):
    """Installed files, or a build's inputs or result, differ from the manifests or the lockfile."""

    exit_code = 12


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_full_error(error: OSError) -> SysrootError:
    where = f" writing {error.filename}" if error.filename else ""
    return SysrootError(f"no space left on the device{where}",
                        hint="free space there (or choose another --sysroot or CWPKG_CACHE), then run again")


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected internal error",
    UsageError.exit_code: "bad command line (unknown option or package, conflicting options)",
    RecipeError.exit_code: "malformed recipe, unknown dependency or dependency cycle",
    FetchError.exit_code: "download failed or checksum mismatch",
    UnsafeArchiveError.exit_code: "unsafe or corrupt archive",
    PatchError.exit_code: "a patch does not apply",
    ToolchainError.exit_code: "missing toolchain or tool",
    BuildError.exit_code: "build failed",
    SysrootError.exit_code: "sysroot conflict, lock or permission problem",
    CheckFailed.exit_code: "a recipe's test program failed",
    ProgramError.exit_code: "the program does not compile or link",
    IntegrityError.exit_code: "the sysroot or a build differs from its manifests or the lockfile",
    130: "interrupted (Ctrl-C); 143 when terminated (SIGTERM)",
}
