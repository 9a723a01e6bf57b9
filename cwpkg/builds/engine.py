"""Runs package builds and installs through SCons, in this process.

SCons gets one archive node and one manifest node per package (see cwpkg/builds/SConstruct). Its content
signatures make the rebuild decisions exact (a second run with nothing changed does nothing, a
changed patch rebuilds that package and its dependents), `-j` builds independent packages in
parallel, and `--debug=explain` says why something is rebuilt. The actions are Python functions
of this module, so errors keep their cwpkg type and message.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cwpkg import interrupts
from cwpkg.builds.identity import BuildInputs, plan_build_inputs
from cwpkg.builds.kept import discard_tree, keep_tree
from cwpkg.builds.package import PackageBuild
from cwpkg.errors import BuildError, CwpkgError, IntegrityError, is_disk_full
from cwpkg.fs import file_sha256, json_text
from cwpkg.recipes import Recipe, RecipeBook
from cwpkg.sources import BinaryCache, SourceCache, verified_archive
from cwpkg.sysroot import Manifest, Sysroot
from cwpkg.toolchain import Toolchain

SCONSTRUCT = Path(__file__).with_name("SConstruct")

_active: "InstallRun | None" = None


def active_run() -> "InstallRun":
    assert _active is not None, "cwpkg/builds/SConstruct is only read during an install run"
    return _active


@dataclass(frozen=True)
class PlannedPackage:
    recipe: Recipe
    inputs: BuildInputs
    archive: Path  # what the build writes (Sysroot.build_path); installing copies it into the sysroot
    manifest: Path
    input_dir: Path  # one small file per build input, so that SCons can name what changed

    def input_files(self) -> dict[str, str]:
        """File name -> content: what SCons compares to decide whether to rebuild and reinstall."""
        return {
            "settings.json": json_text(self.inputs.settings),
            "toolchain.json": json_text(self.inputs.toolchain),
            "dependencies.json": json_text(self.inputs.depends),
            "identity": self.identity + "\n",
        }

    @property
    def identity(self) -> str:
        return self.inputs.identity

    def write_input_files(self) -> None:
        self.input_dir.mkdir(parents=True, exist_ok=True)
        for name, content in self.input_files().items():
            path = self.input_dir / name
            if not path.is_file() or path.read_text(encoding="utf-8") != content:
                path.write_text(content, encoding="utf-8")


class _Bookkeeping:
    """The bytes of files and directories of cwpkg's own state, to put back after a failed run."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.saved: dict[Path, bytes] = {}
        for path in paths:
            for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
                self.saved[file] = file.read_bytes()

    def restore(self) -> None:
        for path in self.paths:
            current = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in current:
                if file not in self.saved:
                    file.unlink()
            if path.is_dir() and not any(path.rglob("*")):
                path.rmdir()
        for file, content in self.saved.items():
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(content)


class _PackageAction:
    """A SCons action for one package.

    SCons signs a callable object by the code of its __call__, which stays the same from run to run;
    what decides a rebuild is in the node's sources (recipe settings, patches, toolchain, dependency
    identities), not in the action.
    """

    def __init__(self, step: Callable[["PlannedPackage"], None], package: "PlannedPackage") -> None:
        self.step = step
        self.package = package
        self.__name__ = f"{step.__name__.strip('_')}_{package.recipe.name}"

    def __call__(self, target, source, env) -> int:
        return self.step.__self__.guarded(lambda: self.step(self.package))


class _WithoutActionFailures:
    """stderr while SCons runs, minus its "scons: *** [target] Error 1" lines: a failing action has
    already handed its error to cwpkg, which reports it once, as its only error line."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if (text.startswith("scons: *** [") and "] Error " in text) or text.startswith("scons: *** Build interrupted"):
            return len(text)
        return self.stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


class InstallRun:
    """One `cwpkg install`: the plan SCons reads, and the actions it calls back."""

    def __init__(self, book: RecipeBook, toolchain: Toolchain, sysroot: Sysroot, sources: SourceCache,
                 jobs: int, say: Callable[[str], None]) -> None:
        self.book = book
        self.toolchain = toolchain
        self.sysroot = sysroot
        self.sources = sources
        self.jobs = jobs
        self.say = say
        self.sconsign = sysroot.state / "signatures"
        self.packages: list[PlannedPackage] = []
        self.requested: list[str] = []
        self.built: list[str] = []
        self.installed: list[str] = []
        self.errors: list[BaseException] = []
        self.expected_archives: dict[str, str] = {}  # name -> sha256 the lockfile promises
        self.restored: list[str] = []  # installed from the binary cache
        self.keep_trees = False  # keep each build's tree for `cwpkg test` (see kept.py)
        self._lock = threading.Lock()

    def plan(self, recipes: list[Recipe], requested: list[str]) -> None:
        inputs = plan_build_inputs(recipes, self.book, self.toolchain)
        self.packages = [
            PlannedPackage(recipe, inputs[recipe.name],
                           self.sysroot.build_path(recipe.name), self.sysroot.manifest_path(recipe.name),
                           self.sysroot.state / "inputs" / recipe.name)
            for recipe in recipes
        ]
        self.requested = requested

    def up_to_date(self) -> set[str]:
        needed = {recipe.name for recipe in self.needs_source()}
        return {package.recipe.name for package in self.packages if package.recipe.name not in needed}

    def needs_source(self) -> list[Recipe]:
        """Packages not installed with their current identity and archive (and, from a lockfile, the
        archive it records): the ones that may have to be built."""
        return [package.recipe for package in self.packages if not self._installed_as_planned(package)]

    def _installed_as_planned(self, package: PlannedPackage) -> bool:
        """Installed with the planned identity, from an archive that is still whole (and, with a
        lockfile, is the one it records)."""
        name = package.recipe.name
        manifest, archive = self.sysroot.manifest(name), self.sysroot.archive_path(name)
        if manifest is None or manifest.identity != package.identity or not archive.is_file():
            return False
        expected = self.expected_archives.get(name, manifest.archive_sha256)
        return manifest.archive_sha256 == expected == file_sha256(archive)

    def must_rebuild(self, package: PlannedPackage) -> bool:
        """With a lockfile: a build already made whose bytes differ from the lock's is made again
        (SCons would consider it current, since its inputs did not change)."""
        expected = self.expected_archives.get(package.recipe.name)
        return expected is not None and package.archive.is_file() and file_sha256(package.archive) != expected

    def patch_path(self, patch: str) -> Path:
        return self.book.patch_path(patch)

    # -- actions called by SCons ------------------------------------------------------------------

    def action_build(self, package: PlannedPackage) -> "_PackageAction":
        return _PackageAction(self._build, package)

    def action_install(self, package: PlannedPackage) -> "_PackageAction":
        return _PackageAction(self._install, package)

    def guarded(self, work: Callable[[], None]) -> int:
        try:
            work()
            return 0
        except BaseException as error:  # handed to the main thread, re-raised after SCons stops
            with self._lock:
                self.errors.append(error)
            return 1

    def _build(self, package: PlannedPackage) -> None:
        recipe = package.recipe
        self.say(f"{recipe.name} {recipe.version}: building")
        package.archive.parent.mkdir(parents=True, exist_ok=True)
        discard_tree(self.sysroot, recipe.name)  # kept from an earlier build: not this one's
        tree = PackageBuild(recipe=recipe, book=self.book, toolchain=self.toolchain, sources=self.sources,
                            sysroot=self.sysroot, jobs=self.jobs, say=self.say).run(package.archive, self.keep_trees)
        if tree is not None:
            keep_tree(self.sysroot, recipe.name, package.identity, tree)
        with self._lock:
            self.built.append(recipe.name)

    def restore_from(self, cache: BinaryCache) -> None:
        """Installs, from the binary cache, each package that needs a build and whose archive the lock
        vouches for; the others are left to the build. The caller holds the sysroot lock."""
        wanted = {recipe.name for recipe in self.needs_source()}
        for package in self.packages:
            name, expected = package.recipe.name, self.expected_archives.get(package.recipe.name)
            if name not in wanted or expected is None:
                continue
            download = self.sysroot.downloads / f"{name}.tar.gz"
            download.parent.mkdir(parents=True, exist_ok=True)
            try:
                problem = verified_archive(cache, package.identity, expected, download, f"{name} (binary cache)")
                if problem is not None:
                    self.say(f"{name}: {problem}; it will be built")
                    continue
                self._install_archive(package, download)
            finally:
                download.unlink(missing_ok=True)
                if not any(self.sysroot.downloads.iterdir()):
                    self.sysroot.downloads.rmdir()
            self.restored.append(name)

    def _install(self, package: PlannedPackage) -> None:
        """The SCons action: installs what the build wrote."""
        self._install_archive(package, package.archive)

    def _install_archive(self, package: PlannedPackage, archive: Path) -> None:
        recipe = package.recipe
        archive_sha256 = file_sha256(archive)
        expected = self.expected_archives.get(recipe.name)
        if expected is not None and archive_sha256 != expected:
            archive.unlink()  # never installed, never reused
            raise IntegrityError(f"{recipe.name}: the build produced an archive with sha256 {archive_sha256}, "
                                 f"the lockfile records {expected}: same inputs, different bytes",
                                 hint="this build is not reproducible here; report it with both archives' contents")
        manifest = Manifest(
            name=recipe.name,
            version=recipe.version,
            summary=recipe.summary,
            license=recipe.license,
            homepage=recipe.homepage,
            identity=package.identity,
            archive_sha256=archive_sha256,
            depends=list(recipe.depends),
            sources=[{"sha256": source.sha256, "location": source.description} for source in recipe.sources],
            patches=package.inputs.as_json()["patches"],
            toolchain={"origin": self.toolchain.origin, **self.toolchain.fingerprint},
        )
        with self._lock:
            self.sysroot.install(recipe.name, archive, manifest)
            self.installed.append(recipe.name)
        self.say(f"{recipe.name} {recipe.version}: installed into {self.sysroot.root}")

    # -- running SCons ----------------------------------------------------------------------------

    def execute(self, explain: bool) -> None:
        if not self.needs_source():
            # Every package is installed with its planned identity, which hashes all its inputs, and
            # its archive is there: nothing to decide. This also holds for a sysroot installed from a
            # bundle, whose packages SCons never built.
            return
        signatures = self.sconsign.with_name(self.sconsign.name + ".dblite")
        bookkeeping = _Bookkeeping([signatures, self.sysroot.builds, *(package.input_dir for package in self.packages)])
        try:
            if signatures.exists() and not _readable_signatures(self.sconsign):
                self.say(f"{signatures}: unreadable build signatures discarded; what is not installed as planned "
                         "is built again")
                signatures.unlink()
            for package in self.packages:
                package.write_input_files()
            self._run_scons(explain)
        except BaseException:
            if not self.installed:
                bookkeeping.restore()  # a run that installed nothing leaves no trace, not even its builds
            raise

    def _run_scons(self, explain: bool) -> None:
        global _active
        import SCons.Script

        _pass_sigterm_on_while_scons_runs()
        argv = ["scons", "-f", str(SCONSTRUCT), "-Q", "-s", f"-j{self.jobs}", "--no-site-dir",
                "--warn=no-all", *(["--debug=explain"] if explain else [])]
        saved_argv, saved_flags = sys.argv, os.environ.pop("SCONSFLAGS", None)
        saved_stderr = sys.stderr
        _active, sys.argv, sys.stderr = self, argv, _WithoutActionFailures(saved_stderr)
        status: int | str | None = 0
        try:
            SCons.Script.main()
        except SystemExit as stop:
            status = stop.code
        finally:
            _active, sys.argv, sys.stderr = None, saved_argv, saved_stderr
            if saved_flags is not None:
                os.environ["SCONSFLAGS"] = saved_flags
        if self.errors:
            interruptions = [error for error in self.errors if isinstance(error, KeyboardInterrupt)]
            error = (interruptions or self.errors)[0]
            if isinstance(error, (CwpkgError, KeyboardInterrupt)) or is_disk_full(error):
                raise error
            raise BuildError(f"internal error while building: {type(error).__name__}: {error}") from error
        if status not in (0, None):
            raise BuildError(f"the build engine (SCons) stopped with status {status}")


def _readable_signatures(sconsign: Path) -> bool:
    """Whether SCons can read its signature database (a damaged one stops every later run)."""
    import SCons.dblite

    try:
        SCons.dblite.open(str(sconsign), "r")
    except Exception:  # whatever it fails with, the file is of no use: it only caches decisions
        return False
    return True


def _pass_sigterm_on_while_scons_runs() -> None:
    """SCons installs its own SIGTERM handler while it runs jobs, which lets running builds finish;
    cwpkg's stops them first (see interrupts.py), then SCons stops scheduling more."""
    from SCons.Taskmaster.Job import Jobs

    if getattr(Jobs._setup_sig_handler, "cwpkg", False):
        return
    scons_setup = Jobs._setup_sig_handler

    def setup(self) -> None:
        scons_setup(self)
        scons_handler = signal.getsignal(signal.SIGTERM)

        def handler(signum, frame) -> None:
            interrupts.stop_children()
            scons_handler(signum, frame)

        signal.signal(signal.SIGTERM, handler)

    setup.cwpkg = True  # type: ignore[attr-defined]
    Jobs._setup_sig_handler = setup
