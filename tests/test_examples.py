"""The examples' expected outputs (examples/*.expected), derived independently here with Python's
own regex, integers, fractions, YAML, XML and zlib: the files the slow tests compare the wasm runs
with are right, not merely what the programs once printed. Where only the C library can say (libxml2's
messages, GMP's rounding), the slow tests compare them with the native build's output."""

from __future__ import annotations

import math
import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
import zlib
from collections import Counter
from fractions import Fraction
from xml.dom import minidom
from xml.sax.saxutils import escape

import pytest
import yaml
from helpers import REPO


def expected(name: str) -> list[str]:
    return (REPO / "examples" / f"{name}.expected").read_text().splitlines()


def test_hello():
    primes = [n for n in range(2, 51) if all(n % d for d in range(2, math.isqrt(n) + 1))]
    counts = sorted(Counter("the quick brown fox jumps over the lazy dog the end".split()).items(),
                    key=lambda item: (-item[1], item[0]))
    lines = ["line one", "line two", "line three"]
    assert expected("hello")[1:] == [
        f"primes: {', '.join(map(str, primes))}",
        f"most common: {' '.join(f'{word}={count}' for word, count in counts[:2])}",
        f"reversed: {'WebAssembly'[::-1].lower()}, squares: {sum(n * n for n in range(1, 6))}",
        f"file: {len(lines)} lines, last: {lines[-1]}, {len(''.join(line + chr(10) for line in lines))} bytes",
        "deleted: true",
    ]


def test_regex():
    text = "2026-11-30 cwpkg links crystal 1.6.0"
    date = re.search(r"(\d{4})-(\d\d)-(\d\d)", text)
    assert expected("regex") == [
        f"date: {date[1]}/{date[2]}/{date[3]}",
        ",".join(re.findall(r"\d+\.\d+\.\d+", text)),
        re.sub(r"[aeiou]", lambda vowel: vowel[0].upper(), text),
        "|".join(part for part in re.split(r"\d+", "a1b22c333") if part),
    ]


def test_bigint():
    digits = str(math.factorial(1000))
    assert expected("bigint") == [str(len(digits)), digits[:20], str(digits.count("0")), str(2 ** 100)]


def test_yaml():
    lines = expected("yaml")
    document = yaml.safe_load("name: cwpkg\nlibraries: [pcre, gmp, libyaml]\nnested:\n  depth: 2\n")
    assert lines[:3] == [document["name"], " ".join(document["libraries"]), str(document["nested"]["depth"] + 40)]
    assert yaml.safe_load("\n".join(lines[3:-1])) == {"primes": [2, 3, 5, 7], "squares": [1, 4, 9]}
    assert lines[-1] == "true"


def test_xml():
    root = ElementTree.fromstring('<library name="cwpkg"><package kind="c">pcre</package>'
                                  '<package kind="c">gmp</package><package kind="crystal">spec</package></library>')
    assert expected("xml") == [
        root.get("name"),
        *(package.text for package in root.iter("package") if package.get("kind") == "c"),
        str(float(len(root.findall("package")))),
        '<?xml version="1.0"?>',
        f'<a id="1">{escape("b & c")}</a>',
    ]


def test_gzip():
    text = b"cwpkg " * 1000
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    size = len(deflate.compress(text) + deflate.flush()) + 18  # 10-byte gzip header, 8-byte trailer
    assert expected("gzip") == [f"compressed {len(text)} bytes to {size}", "true"]


def _reader_walk(node, depth: int, lines: list[str]) -> None:
    """What examples/xml_reader.cr prints for `node`'s children, as xmlTextReader visits them."""
    for child in node.childNodes:
        if child.nodeType == child.ELEMENT_NODE:
            attributes = " ".join(f"{name}={value}" for name, value in child.attributes.items())
            lines.append(f"{'  ' * depth}<{child.tagName}> {attributes}".rstrip())
            _reader_walk(child, depth + 1, lines)
        elif child.nodeType == child.TEXT_NODE and child.data.strip():  # NOBLANKS drops blank text
            lines.append(f"{'  ' * depth}text: {child.data}")
        elif child.nodeType == child.COMMENT_NODE:
            lines.append(f"{'  ' * depth}comment: {child.data.strip()}")


def test_xml_reader():
    catalog = minidom.parseString('<catalog version="2">\n  <book id="b1" lang="en"><title>WebAssembly</title>'
                                  '<pages>320</pages></book>\n  <book id="b2"><title>Crystal &amp; C</title>'
                                  '<pages>210</pages></book>\n  <!-- the end -->\n</catalog>')
    walked: list[str] = []
    _reader_walk(catalog, 0, walked)
    items = minidom.parseString('<list><item n="1">one</item><item n="2">two</item></list>').documentElement
    first = items.firstChild
    assert expected("xml_reader") == [
        *walked,
        "".join(child.toxml() for child in items.childNodes),
        first.getAttribute("n"), first.toxml(),
        first.tagName, first.firstChild.data,
    ]


def test_xml_errors():
    """The messages are libxml2's (the native build's output is compared in the slow test below); what
    Python can tell: the malformed document is malformed, what was recovered, and the HTML's text."""
    lines = expected("xml_errors")
    notes = "<notes>\n  <note>unclosed\n  <note>second</note>\n</notes>"
    with pytest.raises(ElementTree.ParseError) as error:
        ElementTree.fromstring(notes)
    assert lines[0] == f"line {error.value.position[0]}: Opening and ending tag mismatch: note line 2 and notes"
    assert lines[2] == "notes"
    assert lines[-1] == "HTML5 elements are unknown to libxml2"
    assert any(line.startswith("html line 1: Tag nav invalid") for line in lines)


def test_bigfloat():
    """The lines whose values are exact; the rest (GMP's rounding to its precision) is compared with the
    native build's output in the slow test below."""
    lines = expected("bigfloat")
    a = Fraction("1234567890.12345678901")
    assert lines[0] == "1234567890.12345678901" and lines[3] == "0.0" and lines[4] == "-" + lines[0]
    assert lines[5] == f"{2 ** 100:.19e}"
    assert lines[6] == str(5.5 / 16)
    assert lines[7:12] == [f"{7 // 2}.0", f"{-7 // 2}.0", f"{math.floor(2.5)}.0", f"{math.ceil(2.5)}.0",
                           f"{math.trunc(-7.25)}.0"]
    assert lines[12] == str(round(Fraction("1234.5678"), 2).__float__())
    assert lines[14] == str(int(a))
    assert lines[17:] == ["1.0e-10", "-0.000125", "true", "0", "3.0"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["xml_reader", "xml_errors", "bigfloat"])
def test_expected_output_is_what_the_native_build_prints(name, tmp_path):
    """These examples' expected outputs come from `crystal run` (the native build, native libxml2 and
    gmp): the wasm32 build must print the same."""
    result = subprocess.run(["crystal", "run", str(REPO / "examples" / f"{name}.cr")], capture_output=True,
                            text=True, cwd=tmp_path, env={**os.environ, "CRYSTAL_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "examples" / f"{name}.expected").read_text()
