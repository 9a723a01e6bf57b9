"""`cwpkg spec`: Crystal spec files built for wasm32-wasi by the link driver, each example run alone."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cwpkg.cli.context import Context
from cwpkg.crystal import (
    CrystalSourceTarball,
    find_crystal,
    list_examples,
    render_spec_report,
    require_specs_ok,
    run_example,
    run_together,
    std_spec_files,
    write_driver,
)
from cwpkg.errors import UsageError
from cwpkg.link import build_module
from cwpkg.names import SHA256_RE
from cwpkg.places import cache_dir
from cwpkg.sources import fetch_unpacked


def _check_options(options) -> None:
    """The command line's own mistakes, found before the compiler is asked anything."""
    if options.crystal_src is None:
        if not options.files:
            raise UsageError("name the spec files to run, or give --crystal-src")
        for name in options.files:
            if not name.endswith(".cr") or not Path(name).is_file():
                raise UsageError(f"{name}: not a Crystal spec file (.cr)")
    elif "://" in options.crystal_src:
        if not options.crystal_src_sha256 or not SHA256_RE.fullmatch(options.crystal_src_sha256):
            raise UsageError("--crystal-src URL needs --crystal-src-sha256 with the tarball's 64-digit sha256")
    elif not Path(options.crystal_src).is_dir():
        raise UsageError(f"--crystal-src {options.crystal_src}: not a directory")


def _spec_sources(context: Context, version: str) -> tuple[list[Path], Path]:
    """The spec files to build and the directory the examples run in (preopened as ".")."""
    options = context.options
    if options.crystal_src is None:
        return [Path(name) for name in options.files], Path.cwd()
    location = options.crystal_src
    if "://" in location:
        tarball = CrystalSourceTarball(version, location, options.crystal_src_sha256)
        root = fetch_unpacked(context.source_cache(), tarball, tarball.target(cache_dir()), context.say)
    else:
        root = Path(location).resolve()
    return std_spec_files(root, options.files), root


def cmd_spec(context: Context) -> int:
    options = context.options
    _check_options(options)
    version = find_crystal().version
    files, run_dir = _spec_sources(context, version)
    with tempfile.TemporaryDirectory(prefix="cwpkg-spec-") as work:
        driver = write_driver(Path(work), files)
        result = build_module(context, driver, Path(work) / "specs.wasm", context.program_options())
        module = result.output
        examples = list_examples(module, run_dir)
        outcomes, alone = [], examples
        context.say(f"{len(files)} spec files linked with {result.libraries()}"
                    f"{' and exceptions' if options.exceptions else ''}")
        if options.exceptions:
            context.say(f"running {len(examples)} examples in one instance")
            outcomes, alone = run_together(module, examples, run_dir, options.timeout, version)
        if alone:
            context.say(f"running {len(alone)} examples, each in its own instance")
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            outcomes += pool.map(lambda example: run_example(module, example, run_dir, options.timeout, version),
                                 alone)
    print(render_spec_report(outcomes, version), end="")
    require_specs_ok(outcomes)
    return 0
