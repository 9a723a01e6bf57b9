"""Debian archive discovery: the archive's address from apt's configuration, or CWPKG_DEBIAN_MIRROR."""

from __future__ import annotations

from pathlib import Path

from cwpkg.sources.debian_mirror import archive_bases


def test_archive_bases_from_one_line_and_deb822_sources(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("CWPKG_DEBIAN_MIRROR", raising=False)
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text(
        "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n"
        "deb http://security.example/debian-security bookworm-security main\n"
        "deb-src http://one.example/debian bookworm main\n")
    (etc / "sources.list.d/extra.sources").write_text(
        "Types: deb\nURIs: http://two.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb\nURIs: http://flat.example/repo\nSuites: ./\n")
    assert archive_bases(etc) == ["http://one.example/debian", "http://two.example/debian"]


def test_environment_variable_overrides_apt(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CWPKG_DEBIAN_MIRROR", "http://a.example/debian/, http://b.example/debian")
    assert archive_bases(tmp_path) == ["http://a.example/debian", "http://b.example/debian"]


def test_this_machine_has_a_debian_archive_configured():
    assert archive_bases(), "apt has no Debian archive configured; set CWPKG_DEBIAN_MIRROR"
