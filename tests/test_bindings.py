"""`cwpkg bindings`: Crystal's lib declarations against the sysroot's C headers, as wasm32 sees them.

The quick tests read Crystal and C declarations from small sources (the C ones with the real clang);
the slow ones run the whole check on Crystal 1.6.0's standard library against a real sysroot: clean
with the compat patches, the known mismatches without them, and one mismatch of each kind when a
fixture patch breaks one binding of each kind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from helpers import REPO, run_cwpkg

from cwpkg.bindings.c_declarations import CHeaders, _read_ast
from cwpkg.bindings.check import find_call
from cwpkg.crystal.libs import Param, Where, scan_file
from cwpkg.toolchain.detect import detect_toolchain
from cwpkg.wasm.module import FunctionType, object_function_types

CRYSTAL_LIB = """\
{% if flag?(:win32) %}
  @[Link("mpir")]
{% else %}
  @[Link("gmp")]
{% end %}
lib LibDemo
  alias Int = LibC::Int
  {% if flag?(:bits64) %}
    alias Word = UInt64
  {% elsif flag?(:wasm32) %}
    alias Word = UInt32
  {% else %}
    alias Word = UInt16
  {% end %}
  alias Callback = (Void*, UInt8*) ->  # a comment with a # inside

  struct Pair
    first, second : Int
    {% if flag?(:wasm32) %}
      extra : Word
    {% end %}
  end

  union Either
    number : Int
    text : UInt8*
  end

  enum Kind
    A
    B
  end

  $counter = demo_counter : Int
  fun plain(a : Int, b : Word) : Int
  fun renamed = demo_renamed(Int, UInt8*)
  fun variadic = demo_printf(format : UInt8*, ...) : Int
  fun callbacks(free : Void* ->, realloc : Void*, LibC::SizeT -> Void*,
                done : Callback) : Void
  {% for name in %w(x y) %}
    fun looped_{{name.id}} : Int
  {% end %}
end
"""


def test_lib_blocks_are_read_with_places_types_and_macro_conditions(tmp_path):
    source = tmp_path / "lib_demo.cr"
    source.write_text(CRYSTAL_LIB)
    found = scan_file(source)
    funs = {fun.name: fun for fun in found.funs}
    assert set(funs) == {"plain", "renamed", "variadic", "callbacks"}, "funs made in a macro loop are skipped"
    assert funs["plain"].params == (Param("a", "Int"), Param("b", "Word")) and funs["plain"].returns == "Int"
    assert funs["plain"].where == Where(source, 35) and funs["plain"].label == "LibDemo.plain"
    assert (funs["renamed"].c_name, funs["renamed"].params, funs["renamed"].returns) == \
        ("demo_renamed", (Param("_0", "Int"), Param("_1", "UInt8*")), None)
    assert funs["variadic"].variadic and funs["variadic"].params == (Param("format", "UInt8*"),)
    assert funs["callbacks"].params == (Param("free", "Void* ->"), Param("realloc", "Void*, LibC::SizeT -> Void*"),
                                        Param("done", "Callback"))
    assert funs["callbacks"].where.line == 38 and funs["callbacks"].returns is None
    words = [alias for alias in found.aliases if alias.name == "Word"]
    assert [alias.conditions for alias in words] == [
        ("{% if flag?(:bits64) %}",), ("{% if flag?(:bits64) %}{% elsif flag?(:wasm32) %}",),
        ("{% if flag?(:bits64) %}{% elsif flag?(:wasm32) %}{% else %}",)]
    callback = next(alias for alias in found.aliases if alias.name == "Callback")
    assert callback.type == "(Void*, UInt8*) ->"
    pair, either = found.structs
    assert (pair.label, pair.union, either.union) == ("LibDemo::Pair", False, True)
    assert [(field.name, field.type, field.line, field.conditions) for field in pair.fields] == [
        ("first", "Int", 18, ()), ("second", "Int", 18, ()), ("extra", "Word", 20, ("{% if flag?(:wasm32) %}",))]
    assert [(variable.name, variable.c_name, variable.type) for variable in found.globals] == \
        [("counter", "demo_counter", "Int")]
    assert found.files == [source]


def test_the_lib_fun_call_a_proc_literal_is_passed_to_is_found_in_the_source(tmp_path):
    source = tmp_path / "calls.cr"
    source.write_text(textwrap.dedent("""\
        LibXML.xmlSetStructuredErrorFunc nil, ->(ctx, error) {
          nil
        }
        LibXML.xmlGcMemSetup(
          ->GC.free,
          ->(size) { GC.malloc(size) },
        )
        {% if flag?(:wasm32) %}
          LibXML.xmlSetGenericErrorFunc nil, ->(ctx, fmt, args) { nil }
        {% end %}
        callback = ->(x : Int32) { x }
        """))
    assert find_call(Where(source, 1)) == ("LibXML", "xmlSetStructuredErrorFunc", 1)
    assert find_call(Where(source, 5)) == ("LibXML", "xmlGcMemSetup", 0)
    assert find_call(Where(source, 6)) == ("LibXML", "xmlGcMemSetup", 1)
    assert find_call(Where(source, 8)) == ("LibXML", "xmlSetGenericErrorFunc", 1), \
        "in a macro branch the compiler places the literal on the `{% if %}` line"
    assert find_call(Where(source, 11)) is None


C_HEADER = """\
typedef unsigned long word_t;
typedef void (*notify_fn)(void *ctx, const char *msg, ...);
typedef struct { int tag; union { long number; char *text; } value; } demo_t;
struct node { struct node *next; demo_t payload; word_t count; };
extern int demo_counter;
word_t demo_count(const struct node *list, notify_fn notify, demo_t *out);
long long demo_wide(int, double, ...);
"""


@pytest.fixture(scope="module")
def demo_headers(tmp_path_factory):
    """What cwpkg reads of a small header, as clang dumps it for wasm32."""
    toolchain = detect_toolchain()
    work = tmp_path_factory.mktemp("headers")
    (work / "demo.h").write_text(C_HEADER)
    dump = subprocess.run([toolchain.clang, "--target=wasm32-wasi", "-fsyntax-only", "-Xclang", "-ast-dump=json",
                           "-x", "c", str(work / "demo.h")], capture_output=True, text=True, check=True).stdout
    headers = CHeaders(work)
    _read_ast(headers, "demo", json.loads(dump))
    return toolchain, work, headers


def test_header_declarations_are_read_with_their_places(demo_headers):
    _, _, headers = demo_headers
    count = headers.functions["demo_count"]
    assert count.declaration() == ("word_t demo_count(const struct node *list, notify_fn notify, demo_t *out) "
                                   "(demo.h:6)")
    assert headers.functions["demo_wide"].variadic
    assert headers.typedefs["notify_fn"].declaration() == \
        "typedef void (*notify_fn)(void *, const char *, ...) (demo.h:2)"
    assert headers.variables["demo_counter"].declaration() == "extern int demo_counter (demo.h:5)"
    demo = headers.records["demo_t"]  # an anonymous struct is known by its typedef's name
    assert [member.name for member in demo.fields] == ["tag", "value"]
    assert demo.fields[1].record in headers.records, "the anonymous union inside it is read too"
    assert headers.records["struct node"].field("payload").type == "demo_t"


def test_c_types_are_followed_through_typedefs(demo_headers):
    _, _, headers = demo_headers
    assert headers.resolve("word_t") == headers.resolve("unsigned long")
    assert (headers.resolve("const struct node *").kind, headers.resolve("const struct node *").depth) == ("record", 1)
    assert headers.resolve("demo_t *").record == "demo_t"
    notify = headers.resolve("notify_fn")
    assert (notify.kind, notify.depth) == ("function", 1)
    assert headers.resolve("void *").kind == "void"


def test_object_function_types_are_the_wasm_signatures(demo_headers, tmp_path):
    """What the C probe relies on: an object's imports (and a callback type declared as a function)
    carry exact wasm types; a C `long` is an i32 on wasm32, `long long` an i64, variadic arguments
    one pointer more."""
    toolchain, work, _ = demo_headers
    (tmp_path / "probe.c").write_text(f'#include "{work}/demo.h"\n'
                                      "extern __typeof__(*(notify_fn)0) cwpkg_cb;\n"
                                      "void *taken[] = {(void *)&demo_count, (void *)&demo_wide, (void *)&cwpkg_cb};\n"
                                      "long long cwpkg_n(void) { return sizeof(demo_t); }\n")
    subprocess.run([toolchain.clang, "--target=wasm32-wasi", "-c", str(tmp_path / "probe.c"), "-o",
                    str(tmp_path / "probe.o")], check=True)
    types = object_function_types(tmp_path / "probe.o")
    assert types["demo_count"] == FunctionType(("i32", "i32", "i32"), ("i32",))
    assert types["demo_wide"] == FunctionType(("i32", "f64", "i32"), ("i64",))
    assert types["cwpkg_cb"] == FunctionType(("i32", "i32", "i32"), ())
    assert str(types["cwpkg_n"]) == "() -> i64"
    assert str(types["cwpkg_cb"]) == "(i32, i32, i32) -> ()"


# The bindings the compat patches fix, as the check reports them for the unpatched standard library.
UNPATCHED = [
    "big/lib_gmp.cr:83: LibGMP.fdiv_q_ui: Crystal (i32, i32, i32) -> (), C (i32, i32, i32) -> i32: "
    "unsigned long __gmpz_fdiv_q_ui(mpz_ptr, mpz_srcptr, unsigned long) (gmp.h:764)",
    "big/lib_gmp.cr:86: LibGMP.tdiv_q_ui: Crystal (i32, i32, i32) -> (), C (i32, i32, i32) -> i32: "
    "unsigned long __gmpz_tdiv_q_ui(mpz_ptr, mpz_srcptr, unsigned long) (gmp.h:1083)",
    "big/lib_gmp.cr:89: LibGMP.fdiv_r_ui: Crystal (i32, i32, i32) -> (), C (i32, i32, i32) -> i32: "
    "unsigned long __gmpz_fdiv_r_ui(mpz_ptr, mpz_srcptr, unsigned long) (gmp.h:779)",
    "big/lib_gmp.cr:95: LibGMP.tdiv_r_ui: Crystal (i32, i32, i32) -> (), C (i32, i32, i32) -> i32: "
    "unsigned long __gmpz_tdiv_r_ui(mpz_ptr, mpz_srcptr, unsigned long) (gmp.h:1098)",
    "gc/boehm.cr:84: LibGC.get_prof_stats: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "size_t GC_get_prof_stats(struct GC_prof_stats_s *, size_t) (gc/gc.h:844)",
    "gc/boehm.cr:101: LibGC.set_on_collection_event (callback cb): Crystal () -> (), C (i32) -> (): "
    "typedef void (*GC_on_collection_event_proc)(GC_EventType) (gc/gc.h:157)",
    "gc/boehm.cr:153: LibGC.set_warn_proc: proc literal Proc(Pointer(UInt8), UInt32, (Int32 | Nil)) passed as _0: "
    "Crystal (i32, i32, i32) -> (), C (i32, i32) -> (): typedef void (*GC_warn_proc)(char *, GC_word) (gc/gc.h:1425)",
    "lib_c/wasm32-wasi/c/netdb.cr:12: LibC::Addrinfo.ai_addr: Crystal Pointer(LibC::Sockaddr) at offset 20 "
    "(4 bytes), C ai_addr at offset 24 (4 bytes): struct sockaddr * ai_addr in struct evutil_addrinfo "
    "(event2/util.h:679), shared through fun LibEvent2.evdns_getaddrinfo",
    "lib_c/wasm32-wasi/c/netdb.cr:13: LibC::Addrinfo.ai_canonname: Crystal Pointer(UInt8) at offset 24 (4 bytes), "
    "C ai_canonname at offset 20 (4 bytes): char * ai_canonname in struct evutil_addrinfo (event2/util.h:679), "
    "shared through fun LibEvent2.evdns_getaddrinfo",
    "lib_z/lib_z.cr:14: LibZ.adler32_combine: Crystal (i32, i32, i32) -> i32, C (i32, i32, i64) -> i32: "
    "uLong adler32_combine(uLong, uLong, off_t) (zlib.h:1897)",
    "lib_z/lib_z.cr:16: LibZ.crc32_combine: Crystal (i32, i32, i32) -> i32, C (i32, i32, i64) -> i32: "
    "uLong crc32_combine(uLong, uLong, off_t) (zlib.h:1898)",
    "math/libm.cr:195: LibM.scalbln_f32: Crystal (f32, i64) -> f32, C (f32, i32) -> f32: "
    "float scalblnf(float, long) (math.h:345)",
    "math/libm.cr:196: LibM.scalbln_f64: Crystal (f64, i64) -> f64, C (f64, i32) -> f64: "
    "double scalbln(double, long) (math.h:344)",
    "openssl/lib_crypto.cr:120: LibCrypto.BIO_meth_set_read: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_read(BIO_METHOD *biom, int (*read)(BIO *, char *, int)) (openssl/bio.h:867)",
    "openssl/lib_crypto.cr:121: LibCrypto.BIO_meth_set_write: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_write(BIO_METHOD *biom, int (*write)(BIO *, const char *, int)) (openssl/bio.h:861)",
    "openssl/lib_crypto.cr:122: LibCrypto.BIO_meth_set_puts: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_puts(BIO_METHOD *biom, int (*puts)(BIO *, const char *)) (openssl/bio.h:872)",
    "openssl/lib_crypto.cr:123: LibCrypto.BIO_meth_set_gets: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_gets(BIO_METHOD *biom, int (*ossl_gets)(BIO *, char *, int)) (openssl/bio.h:875)",
    "openssl/lib_crypto.cr:124: LibCrypto.BIO_meth_set_ctrl: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_ctrl(BIO_METHOD *biom, long (*ctrl)(BIO *, int, long, void *)) (openssl/bio.h:878)",
    "openssl/lib_crypto.cr:125: LibCrypto.BIO_meth_set_create: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_create(BIO_METHOD *biom, int (*create)(BIO *)) (openssl/bio.h:881)",
    "openssl/lib_crypto.cr:126: LibCrypto.BIO_meth_set_destroy: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_destroy(BIO_METHOD *biom, int (*destroy)(BIO *)) (openssl/bio.h:883)",
    "openssl/lib_crypto.cr:127: LibCrypto.BIO_meth_set_callback_ctrl: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_callback_ctrl(BIO_METHOD *biom, long (*callback_ctrl)(BIO *, int, BIO_info_cb *)) (openssl/bio.h:885)",
    "openssl/lib_crypto.cr:130: LibCrypto.BIO_meth_set_read_ex: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_read_ex(BIO_METHOD *biom, int (*bread)(BIO *, char *, size_t, size_t *)) (openssl/bio.h:869)",
    "openssl/lib_crypto.cr:131: LibCrypto.BIO_meth_set_write_ex: Crystal (i32, i32) -> (), C (i32, i32) -> i32: "
    "int BIO_meth_set_write_ex(BIO_METHOD *biom, int (*bwrite)(BIO *, const char *, size_t, size_t *)) (openssl/bio.h:863)",
    "openssl/lib_ssl.cr:233: LibSSL.ssl_ctx_get_options: Crystal (i32) -> i32, C (i32) -> i64: "
    "uint64_t SSL_CTX_get_options(const SSL_CTX *ctx) (openssl/ssl.h:603)",
    "openssl/lib_ssl.cr:234: LibSSL.ssl_ctx_set_options: Crystal (i32, i32) -> i32, C (i32, i64) -> i64: "
    "uint64_t SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op) (openssl/ssl.h:607)",
    "openssl/lib_ssl.cr:235: LibSSL.ssl_ctx_clear_options: Crystal (i32, i32) -> i32, C (i32, i64) -> i64: "
    "uint64_t SSL_CTX_clear_options(SSL_CTX *ctx, uint64_t op) (openssl/ssl.h:605)",
    "xml/error.cr:18: LibXML.xmlSetStructuredErrorFunc: proc literal Proc(Pointer(Void), Pointer(LibXML::Error), "
    "Array(XML::Error)) passed as f: Crystal (i32, i32) -> i32, C (i32, i32) -> (): "
    "typedef void (*xmlStructuredErrorFunc)(void *, xmlErrorPtr) (libxml2/libxml/xmlerror.h:856)",
    "xml/error.cr:22: LibXML.xmlSetGenericErrorFunc: proc literal Proc(Pointer(Void), Pointer(UInt8), NoReturn) "
    "passed as f: Crystal (i32, i32) -> (), C (i32, i32, i32) -> (): "
    "typedef void (*xmlGenericErrorFunc)(void *, const char *, ...) (libxml2/libxml/xmlerror.h:845)",
    "xml/libxml2.cr:121: LibXML.xmlTextReaderSetErrorHandler: Crystal (i32, i32) -> (), C (i32, i32, i32) -> (): "
    "void xmlTextReaderSetErrorHandler(xmlTextReaderPtr reader, xmlTextReaderErrorFunc f, void *arg) "
    "(libxml2/libxml/xmlreader.h:409)",
    "xml/libxml2.cr:303: LibXML::GenericErrorFunc (callback f of LibXML.xmlSetGenericErrorFunc): "
    "Crystal (i32, i32) -> (), C (i32, i32, i32) -> (): "
    "typedef void (*xmlGenericErrorFunc)(void *, const char *, ...) (libxml2/libxml/xmlerror.h:845)",
    "yaml/lib_yaml.cr:140: LibYAML.yaml_sequence_end_event_initialize: Crystal (i32) -> (), C (i32) -> i32: "
    "int yaml_sequence_end_event_initialize(yaml_event_t *event) (yaml.h:616)",
]


def _mismatch_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if not line.startswith("Crystal ")]


@pytest.mark.slow
def test_crystal_1_6_0_with_its_compat_patches_has_no_binding_mismatch(full_sysroot):
    """Every fun, callback, struct and global of the standard library that binds a sysroot library,
    and the proc literals the examples hand to C, agree with the C headers."""
    examples = [str(path) for path in sorted((REPO / "examples").glob("*.cr"))]
    result = run_cwpkg("bindings", *examples, env=full_sysroot)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _mismatch_lines(result.stdout) == []
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith("Crystal 1.6.0: checked ") and summary.endswith(": 0 mismatches")
    counts = {kind: int(number) for number, kind in
              (part.split(" ", 1) for part in summary.split("checked ")[1].split(":")[0].split(", "))}
    assert counts["funs"] > 400 and counts["callbacks"] > 30 and counts["structs"] > 30 and counts["fields"] > 200
    assert counts["proc literals"] >= 15, "the literals of XML::Reader, XML::Builder, YAML and zlib are checked too"
    for library in ("LibXML", "LibYAML", "LibGMP", "LibZ", "LibPCRE", "LibGC", "LibEvent2", "LibC"):
        assert library in result.stderr


@pytest.mark.slow
def test_the_unpatched_standard_library_has_the_mismatches_the_patches_fix(full_sysroot):
    result = run_cwpkg("bindings", "--unpatched", env=full_sysroot)
    assert result.returncode == 10, result.stdout + result.stderr
    assert _mismatch_lines(result.stdout) == UNPATCHED
    assert f"error: {len(UNPATCHED)} bindings of Crystal 1.6.0's standard library differ" in result.stderr


def _recipes_with(tmp_path: Path, leave_out: str | None = None, add: Path | None = None) -> Path:
    """A checkout whose Crystal 1.6.0 compat patches are this one's, without `leave_out`, with `add`."""
    root = tmp_path / "checkout"
    (root / "patches" / "crystal").mkdir(parents=True)
    (root / "recipes").symlink_to(REPO / "recipes")
    shutil.copytree(REPO / "patches" / "crystal" / "1.6.0", root / "patches" / "crystal" / "1.6.0")
    if leave_out:
        (root / "patches" / "crystal" / "1.6.0" / leave_out).unlink()
    if add:
        shutil.copy(add, root / "patches" / "crystal" / "1.6.0" / f"zz-{add.name}")
    return root


@pytest.mark.slow
def test_leaving_out_one_compat_patch_brings_its_mismatch_back(full_sysroot, tmp_path):
    root = _recipes_with(tmp_path, leave_out="libxml2-reader-error-handler.patch")
    result = run_cwpkg("bindings", "--recipes", str(root), env=full_sysroot)
    assert result.returncode == 10, result.stdout + result.stderr
    assert _mismatch_lines(result.stdout) == [line for line in UNPATCHED if "xmlTextReaderSetErrorHandler" in line]


@pytest.mark.slow
def test_one_broken_binding_of_each_kind_is_reported_with_both_declarations(full_sysroot, tmp_path):
    root = _recipes_with(tmp_path, add=REPO / "tests" / "fixtures" / "bindings" / "break-one-of-each.patch")
    result = run_cwpkg("bindings", "--recipes", str(root), env=full_sysroot)
    assert result.returncode == 10, result.stdout + result.stderr
    assert _mismatch_lines(result.stdout) == [
        # the target of a pointer: mp_exp_t is a C long, 4 bytes on wasm32
        "big/lib_gmp.cr:201: LibGMP.mpf_get_str (expptr): Crystal Pointer(Int64) points to 8 bytes, C mp_exp_t * "
        "to 4: char *__gmpf_get_str(char *, mp_exp_t *, int, size_t, mpf_srcptr) (gmp.h:1335)",
        # a fun's result
        "lib_z/lib_z.cr:12: LibZ.zlibVersion: Crystal () -> i64, C () -> i32: const char *zlibVersion(void) "
        "(zlib.h:220)",
        # a callback type, in a struct field
        "lib_z/lib_z.cr:39: LibZ::ZStream.zalloc: Crystal (i32, i64, i32) -> i32, C (i32, i32, i32) -> i32: "
        "typedef voidpf (*alloc_func)(voidpf, uInt, uInt) (zlib.h:81)",
        # a struct field's size
        "lib_z/lib_z.cr:42: LibZ::ZStream.data_type: Crystal UInt8 at offset 44 (1 bytes), C data_type at offset 44 "
        "(4 bytes): int data_type in struct z_stream_s (zlib.h:86), shared through fun LibZ.deflateInit2",
        # a proc literal handed to C, returning a value where the C callback returns nothing
        "xml/error.cr:18: LibXML.xmlSetStructuredErrorFunc: proc literal Proc(Pointer(Void), Pointer(LibXML::Error), "
        "Array(XML::Error)) passed as f: Crystal (i32, i32) -> i32, C (i32, i32) -> (): "
        "typedef void (*xmlStructuredErrorFunc)(void *, xmlErrorPtr) (libxml2/libxml/xmlerror.h:856)",
        # a global
        "xml/libxml2.cr:11: LibXML.$xmlIndentTreeOutput: Crystal Int64 (8 bytes), C 4 bytes: "
        "extern int xmlIndentTreeOutput (libxml2/libxml/globals.h:387)",
    ]


def test_a_program_that_is_not_crystal_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not crystal\n")
    result = run_cwpkg("bindings", str(tmp_path / "notes.txt"))
    assert result.returncode == 2 and "notes.txt: not a Crystal source file (.cr)" in result.stderr


SPEC = """\
require "spec"
require "big"
require "xml"

describe "wasm32 bindings" do
  # outside any example: runs while the file loads (as in Crystal's own big_float_spec.cr)
  expect_raises(DivisionByZeroError) { 0.1.to_big_f / 0 }

  it "divides BigFloats" do
    (BigFloat.new(1) / 8).to_s.should eq("0.125")
  end

  it "reads XML with XML::Reader" do
    reader = XML::Reader.new(%(<a x="1"><b/></a>))
    reader.read.should be_true
    reader["x"].should eq("1")
    reader.read.should be_true
    reader.name.should eq("b")
  end

  it "reports parse errors through libxml2's callbacks" do
    XML.parse("<a><b></a>").errors.not_nil!.map(&.message).should contain("Opening and ending tag mismatch: b line 1 and a")
    XML.parse_html("<nav>x</nav>").errors.not_nil!.map(&.message).should eq(["Tag nav invalid"])
  end

  it "catches what it expects" do
    expect_raises(XML::Error) { XML.parse("") }
  end
end
"""


@pytest.mark.slow
def test_specs_of_what_the_patches_fix_run_on_wasm32(full_sysroot, tmp_path):
    spec = tmp_path / "bindings_spec.cr"
    spec.write_text(SPEC)
    result = run_cwpkg("spec", str(spec), env=full_sysroot, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith(
        "4 examples, 0 failures, 0 errors, 0 pending, 0 unsupported on wasm32 by Crystal 1.6.0 (4 passed)")
