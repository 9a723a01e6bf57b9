"""The examples' expected outputs (examples/*.expected), derived independently here with Python's
own regex, integers, YAML, XML and zlib: the files the slow tests compare the wasm runs with are
right, not merely what the programs once printed."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
import zlib
from collections import Counter
from xml.sax.saxutils import escape

import yaml
from conftest import REPO


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
