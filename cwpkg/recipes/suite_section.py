"""The `suite:` section of a recipe: how to build and run the library's own upstream tests.

    suite:
      build: ["make -j{jobs} check TESTS="]   # shell commands, in the build tree, after the package build
      link:                                    # programs (re)linked by cwpkg's link driver after the build:
        gctest: [tests/test.o, -lgc]           #   path -> its objects and archives, and -lNAME from recipes
      wasm: ["tests/**/t-*"]                   # built wasm programs to make runnable as host commands
      automake: ["."]                          # run `make -k check` there; results come from the .trs files
      cases:                                   # named shell commands: exit 0 passes, 77 skips
        example: ./example
      generated:                               # cases listed by a command, one name a line
        list: test/regress --list-tests
        run: test/regress --no-fork {case}
      skip:                                    # not run (glob over test names -> reason WASI imposes)
        "signal/*": WASI has no signals
      wasi_limits:                             # run, and known to fail for this reason
        "http/*": WASI preview 1 cannot create sockets
      timeout: 600                             # seconds one wasm program may run
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cwpkg.recipes.fields import FieldReader

# The build placeholders (recipe.PLACEHOLDERS) plus the directory the suite runs in and the link
# flags for test programs.
SUITE_EXTRA_PLACEHOLDERS = frozenset({"build", "test_ldflags", "source_archive", "checks"})
DEFAULT_TIMEOUT = 600


@dataclass(frozen=True)
class SuiteCase:
    name: str
    run: str


@dataclass(frozen=True)
class CaseGenerator:
    list_command: str  # prints one case name a line
    run: str  # runs one case; {case} is its name


@dataclass(frozen=True)
class Suite:
    build: tuple[str, ...]
    link: tuple[tuple[str, tuple[str, ...]], ...]  # (program, its objects, archives and -lNAME flags)
    wasm: tuple[str, ...]
    automake: tuple[str, ...]
    cases: tuple[SuiteCase, ...]
    generated: CaseGenerator | None
    skip: tuple[tuple[str, str], ...]  # (glob over test names, reason)
    wasi_limits: tuple[tuple[str, str], ...]
    timeout: int
    notes: str


def parse_suite(reader: FieldReader, value: Any, placeholders: frozenset[str]) -> Suite:
    """Validates a recipe's `suite:` mapping; `placeholders` are the build placeholders."""
    allowed = placeholders | SUITE_EXTRA_PLACEHOLDERS
    entry = reader.mapping(value, "suite", allowed={"build", "link", "wasm", "automake", "cases", "generated", "skip",
                                                    "wasi_limits", "timeout", "notes"}, required=set())

    def commands(key: str) -> tuple[str, ...]:
        texts = reader.strings(entry.get(key), f"suite.{key}")
        return tuple(reader.placeholders(text, f"suite.{key}[{index}]", allowed) for index, text in enumerate(texts))

    cases = []
    for name, command in _mapping(reader, entry.get("cases"), "suite.cases").items():
        cases.append(SuiteCase(name, reader.placeholders(reader.text(command, f"suite.cases.{name}"),
                                                         f"suite.cases.{name}", allowed)))
    generated = None
    if entry.get("generated") is not None:
        spec = reader.mapping(entry["generated"], "suite.generated", allowed={"list", "run"}, required={"list", "run"})
        generated = CaseGenerator(
            list_command=reader.placeholders(reader.text(spec["list"], "suite.generated.list"), "suite.generated.list", allowed),
            run=reader.placeholders(reader.text(spec["run"], "suite.generated.run"), "suite.generated.run",
                                    allowed | {"case"}),
        )
    automake = tuple(item if item == "." else reader.relative_path(item, f"suite.automake[{index}]")
                     for index, item in enumerate(entry.get("automake") or []))
    if not (automake or cases or generated):
        raise reader.fail("suite", "runs nothing: give automake, cases or generated")
    timeout = entry.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise reader.fail("suite.timeout", f"expected a positive number of seconds, got {timeout!r}")
    return Suite(
        build=commands("build"),
        link=_links(reader, entry.get("link")),
        wasm=tuple(reader.relative_path(item, f"suite.wasm[{index}]") for index, item in enumerate(entry.get("wasm") or [])),
        automake=automake,
        cases=tuple(cases),
        generated=generated,
        skip=_reasons(reader, entry.get("skip"), "suite.skip"),
        wasi_limits=_reasons(reader, entry.get("wasi_limits"), "suite.wasi_limits"),
        timeout=timeout,
        notes=reader.text(entry.get("notes", ""), "suite.notes"),
    )


def _mapping(reader: FieldReader, value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise reader.fail(key, f"expected a mapping, got {type(value).__name__}")
    for name in value:
        if not isinstance(name, str) or not name.strip():
            raise reader.fail(key, f"{name!r} is not a test name")
    return value


def _links(reader: FieldReader, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    links = []
    for program, members in _mapping(reader, value, "suite.link").items():
        key = f"suite.link.{program}"
        reader.relative_path(program, key)
        texts = reader.strings(members, key)
        if not texts:
            raise reader.fail(key, "give the objects and libraries to link")
        for text in texts:
            if not text.startswith("-l"):
                reader.relative_path(text, key)
        links.append((program, texts))
    return tuple(links)


def _reasons(reader: FieldReader, value: Any, key: str) -> tuple[tuple[str, str], ...]:
    reasons = []
    for pattern, reason in _mapping(reader, value, key).items():
        text = reader.text(reason, f"{key}.{pattern}").strip()
        if not text:
            raise reader.fail(f"{key}.{pattern}", "give the reason")
        reasons.append((pattern, text))
    return tuple(reasons)
