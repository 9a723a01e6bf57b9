"""The strict patch applier: exact context, offsets allowed, no fuzz, nothing half-applied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import snapshot

from cwpkg.errors import PatchError
from cwpkg.sources.patching import apply_patch


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.c").write_text("".join(f"line {n}\n" for n in range(1, 21)))
    (root / "b.c").write_text("alpha\nbeta\ngamma\n")
    return root


def patch_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "change.patch"
    path.write_text(text)
    return path


def test_applies_hunks_even_when_the_lines_moved(tree, tmp_path):
    (tree / "a.c").write_text("new first line\n" + (tree / "a.c").read_text())
    patch = patch_file(tmp_path, "--- a/a.c\n+++ b/a.c\n@@ -4,3 +4,3 @@\n line 4\n-line 5\n+line five\n line 6\n")
    apply_patch(tree, patch)
    assert "line five\n" in (tree / "a.c").read_text() and "line 5\n" not in (tree / "a.c").read_text()


def test_creates_and_deletes_files_and_handles_missing_final_newline(tree, tmp_path):
    patch = patch_file(tmp_path, (
        "--- /dev/null\n+++ b/new.h\n@@ -0,0 +1,2 @@\n+#define NEW 1\n+/* end */\n\\ No newline at end of file\n"
        "--- a/b.c\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-alpha\n-beta\n-gamma\n"))
    apply_patch(tree, patch)
    assert (tree / "new.h").read_text() == "#define NEW 1\n/* end */"
    assert not (tree / "b.c").exists()


def test_a_hunk_that_does_not_fit_names_the_patch_file_and_hunk_and_changes_nothing(tree, tmp_path):
    before = snapshot(tree)
    patch = patch_file(tmp_path, (
        "--- a/b.c\n+++ b/b.c\n@@ -1,2 +1,2 @@\n-alpha\n+ALPHA\n beta\n"
        "--- a/a.c\n+++ b/a.c\n@@ -2,3 +2,3 @@\n line 2\n-line 3 changed upstream\n+line three\n line 4\n"))
    with pytest.raises(PatchError) as caught:
        apply_patch(tree, patch, display_name="patches/x/change.patch")
    assert "patches/x/change.patch: hunk #1 of a.c does not apply (expected at line 2" in str(caught.value)
    assert snapshot(tree) == before  # b.c's hunk was fine, but the patch applies whole or not at all


def test_no_fuzz_a_changed_context_line_is_a_failure(tree, tmp_path):
    patch = patch_file(tmp_path, "--- a/a.c\n+++ b/a.c\n@@ -4,3 +4,3 @@\n line four\n-line 5\n+line five\n line 6\n")
    with pytest.raises(PatchError, match="does not apply"):
        apply_patch(tree, patch)


@pytest.mark.parametrize("path", ["../outside.c", "/etc/passwd", "a/../../outside.c"])
def test_paths_outside_the_tree_are_refused(tree, tmp_path, path):
    patch = patch_file(tmp_path, f"--- /dev/null\n+++ {path}\n@@ -0,0 +1 @@\n+evil\n")
    with pytest.raises(PatchError, match="outside the source tree"):
        apply_patch(tree, patch)
    assert not (tmp_path / "outside.c").exists()


def test_writing_through_a_symlink_out_of_the_tree_is_refused(tree, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.c").write_text("keep\n")
    (tree / "link").symlink_to(outside)
    patch = patch_file(tmp_path, "--- a/link/target.c\n+++ b/link/target.c\n@@ -1 +1 @@\n-keep\n+changed\n")
    with pytest.raises(PatchError, match="leads outside the source tree"):
        apply_patch(tree, patch)
    assert (outside / "target.c").read_text() == "keep\n"


@pytest.mark.parametrize("text, message", [
    ("just some words\n", "no unified diff found"),
    ("--- a/b.c\n+++ b/b.c\n@@ -1,3 +1,3 @@\n-alpha\n+ALPHA\n", "truncated patch"),
    ("--- a/b.c\n+++ b/b.c\n@@ bogus @@\n", "malformed hunk header"),
])
def test_malformed_patches_are_reported(tree, tmp_path, text, message):
    with pytest.raises(PatchError, match=message):
        apply_patch(tree, patch_file(tmp_path, text))


def test_the_project_patches_apply_to_nothing_else_than_their_sources():
    """Every patch under patches/ parses, and recipes name exactly the library patches there
    (patches/crystal/ holds the compiler's compat patches, which the link driver applies)."""
    from helpers import REPO

    from cwpkg.recipes.book import RecipeBook
    from cwpkg.sources.patching import parse_patch

    book = RecipeBook(REPO)
    named = {patch for name in book.names() for patch in book.get(name).patches}
    on_disk = {path.relative_to(REPO / "patches").as_posix() for path in (REPO / "patches").rglob("*.patch")}
    assert named == {patch for patch in on_disk if not patch.startswith("crystal/")}
    for patch in on_disk:
        assert parse_patch((REPO / "patches" / patch).read_text(), patch)


def test_two_sections_for_one_file_apply_in_order_as_gnu_patch_does(tree, tmp_path):
    patch = patch_file(tmp_path, (
        "--- a/b.c\n+++ b/b.c\n@@ -1,2 +1,2 @@\n-alpha\n+ALPHA\n beta\n"
        "--- a/b.c\n+++ b/b.c\n@@ -2,2 +2,2 @@\n beta\n-gamma\n+GAMMA\n"))
    apply_patch(tree, patch)
    assert (tree / "b.c").read_text() == "ALPHA\nbeta\nGAMMA\n"


def test_git_headers_symlinks_modes_renames_and_copies(tree, tmp_path):
    patch = patch_file(tmp_path, (
        "diff --git a/link.c b/link.c\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/link.c\n"
        "@@ -0,0 +1 @@\n+b.c\n\\ No newline at end of file\n"
        "diff --git a/run.sh b/run.sh\nnew file mode 100755\nindex 0000000..2222222\n--- /dev/null\n+++ b/run.sh\n"
        "@@ -0,0 +1 @@\n+#!/bin/sh\n"
        "diff --git a/a.c b/a.c\nold mode 100644\nnew mode 100755\n"
        "diff --git a/b.c b/moved.c\nsimilarity index 90%\nrename from b.c\nrename to moved.c\n--- a/b.c\n+++ b/moved.c\n"
        "@@ -1,3 +1,3 @@\n alpha\n-beta\n+BETA\n gamma\n"
        "diff --git a/a.c b/copy.c\nsimilarity index 100%\ncopy from a.c\ncopy to copy.c\n"))
    apply_patch(tree, patch)
    assert os.readlink(tree / "link.c") == "b.c"
    assert os.access(tree / "run.sh", os.X_OK) and (tree / "run.sh").read_text() == "#!/bin/sh\n"
    assert os.access(tree / "a.c", os.X_OK)
    assert not (tree / "b.c").exists() and (tree / "moved.c").read_text() == "alpha\nBETA\ngamma\n"
    assert (tree / "copy.c").read_text() == (tree / "a.c").read_text()


def test_line_ends_and_hard_links_are_kept(tree, tmp_path):
    (tree / "dos.c").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    os.link(tree / "b.c", tree / "b-link.c")
    patch = patch_file(tmp_path, "--- a/dos.c\n+++ b/dos.c\n@@ -2 +2 @@\n-two\r\n+TWO\r\n"
                                 "--- a/b.c\n+++ b/b.c\n@@ -1 +1 @@\n-alpha\n+ALPHA\n")
    apply_patch(tree, patch)
    assert (tree / "dos.c").read_bytes() == b"one\r\nTWO\r\nthree\r\n"
    assert (tree / "b.c").read_text().startswith("ALPHA") and (tree / "b-link.c").read_text().startswith("alpha")


@pytest.mark.parametrize("text, message", [
    ("--- a/b.c\n+++ b/b.c\n", "has a file header but no hunks"),
    ("Binary files a/logo.png and b/logo.png differ\n", "Binary files a/logo.png and b/logo.png differ"),
    ("diff --git a/x.bin b/x.bin\nindex 1..2 100644\nGIT binary patch\nliteral 1\nIcmZ?d00001\n\n", "binary patch"),
    ("--- /dev/null\n+++ b/b.c/inner.c\n@@ -0,0 +1 @@\n+x\n", "'b.c' is a file"),
])
def test_patches_git_would_not_apply_either_are_refused_quickly(tree, tmp_path, text, message):
    before = snapshot(tree)
    with pytest.raises(PatchError, match=message):
        apply_patch(tree, patch_file(tmp_path, text))
    assert snapshot(tree) == before


def test_a_hunk_claiming_a_huge_line_number_still_applies_at_once(tree, tmp_path):
    """The search starts from the nearest real line, not from the 10^12th."""
    patch = patch_file(tmp_path, "--- a/b.c\n+++ b/b.c\n@@ -1000000000000,2 +1000000000000,2 @@\n-alpha\n+ALPHA\n beta\n")
    apply_patch(tree, patch)
    assert (tree / "b.c").read_text() == "ALPHA\nbeta\ngamma\n"
