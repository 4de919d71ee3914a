# SPDX-License-Identifier: LGPL-2.1-or-later
"""A typo must not delete the image's contents (issue 7, item 6).

rm refuses a last component '.' or '..' (trailing '/' ignored) and the root,
with coreutils' messages; mv refuses to move '.', '..' or a directory into
itself; cp refuses to copy a directory into itself (decided by inode, so '..'
and symlinks make no difference), a file onto itself, and never writes over
(or copies into itself) an image file of the same command. For each refusal:
exit status 1, the message, and the image unchanged (every name, type and
size, by debugfs) and clean (e2fsck -fn)."""
import os
import re
import stat

import pytest

from conftest import debugfs, debugfs_ls, fsck, mkimage


def make_tree(root):
    """/a/{f, sub/g, e/}, /b/, /top, /img, /lnk -> /a, /rootlnk -> /."""
    (root / "a/sub").mkdir(parents=True)
    (root / "a/e").mkdir()
    (root / "b").mkdir()
    (root / "a/f").write_bytes(b"f" * 10)
    (root / "a/sub/g").write_bytes(b"g" * 20)
    (root / "top").write_bytes(b"top" * 10)
    (root / "img").write_bytes(b"not the image\n")
    os.symlink("/a", root / "lnk")
    os.symlink("/", root / "rootlnk")


@pytest.fixture
def env(work):
    """A fresh image ("d/img", made with mke2fs -d from the tree) and the
    tree as debugfs sees it before the command."""
    src = work / "src"
    src.mkdir()
    make_tree(src)
    d = work / "d"
    d.mkdir()
    img = mkimage(d / "img", "ext4", 4096, "16M", from_dir=src)
    return img, snapshot(img)


def snapshot(img, path="/", out=None):
    """{path: (type, size)} of everything below @path, by debugfs ls -l."""
    out = {} if out is None else out
    text = debugfs(img, 'ls -l "%s"' % path)
    for line in text.splitlines():
        m = re.match(r"^\s*\d+\s+(\d+)\s+\(\d+\)\s+\d+\s+\d+\s+(\d+)\s+\S+\s+\S+\s(.*)$", line)
        if not m or m.group(3) in (".", ".."):
            continue
        mode, size, name = int(m.group(1), 8), int(m.group(2)), m.group(3)
        p = path.rstrip("/") + "/" + name
        kind = "d" if stat.S_ISDIR(mode) else "l" if stat.S_ISLNK(mode) else "f"
        out[p] = (kind, size if kind != "d" else 0)
        if kind == "d":
            snapshot(img, p, out)
    return out


def refused(pcfs, img, before, args, message):
    """Run pcfs @args ("IMG" replaced by the image path): exit status 1,
    @message (a format with {img}) on stderr, the image unchanged and clean."""
    argv = [a.replace("IMG", str(img)) for a in args]
    r = pcfs(*argv, ok=False)
    assert r.rc == 1, r
    want = message.format(img=img)
    assert want in r.err, "expected %r in stderr: %r" % (want, r)
    assert snapshot(img) == before, "the image changed: %r" % r
    fsck(img)
    return r


DOTS = "pcfs: rm: refusing to remove '.' or '..' directory: skipping '{img}:%s'"


@pytest.mark.parametrize("path", [
    "/a/..", "/a/../", "/a//..//", "/a/.", "/a/./", "/a/.//", "/a/sub/..", "/a/e/.", "/.", "/..",
    "/./", ".", "..", "/rootlnk/.", "/rootlnk/..", "/lnk/..", "/b/../a/.",
])
def test_rm_dots(pcfs, env, path):
    img, before = env
    refused(pcfs, img, before, ["rm", "-r", "IMG:" + path], DOTS % path)


@pytest.mark.parametrize("path", ["/top/.", "/a/f/..", "/a/."])
def test_rm_dots_not_recursive(pcfs, env, path):
    """Without -r too: 'IMG:/top/.' is not the file /top."""
    img, before = env
    refused(pcfs, img, before, ["rm", "IMG:" + path], DOTS % path)


@pytest.mark.parametrize("path,shown", [
    ("/", "'{img}:/'"),
    ("//", "'{img}://' (same as '{img}:/')"),
    ("", "'{img}:' (same as '{img}:/')"),
    ("///", "'{img}:///' (same as '{img}:/')"),
], ids=["slash", "slashslash", "empty", "slash3"])
def test_rm_root(pcfs, env, path, shown):
    img, before = env
    refused(pcfs, img, before, ["rm", "-r", "IMG:" + path],
            "pcfs: rm: it is dangerous to operate recursively on " + shown)
    refused(pcfs, img, before, ["rm", "IMG:" + path], "pcfs: {img}:/: Is a directory")


@pytest.mark.parametrize("path", ["/rootlnk", "/rootlnk/", "/lnk", "/lnk/", "/lnk//"])
def test_rm_symlink_removes_only_the_link(pcfs, env, path):
    """rm -r of a symlink to a directory (or to the root), with or without a
    trailing '/', removes the link, never what it points to."""
    img, before = env
    pcfs("rm", "-r", "%s:%s" % (img, path))
    link = "/" + path.strip("/")
    want = {p: v for p, v in before.items() if p != link}
    assert snapshot(img) == want
    fsck(img)


@pytest.mark.parametrize("args,message", [
    (["mv", "IMG:/a/..", "IMG:/c"],
     "pcfs: mv: cannot move '{img}:/a/..' to '{img}:/c': Device or resource busy"),
    (["mv", "IMG:/a/.", "IMG:/c"],
     "pcfs: mv: cannot move '{img}:/a/.' to '{img}:/c': Device or resource busy"),
    (["mv", "IMG:/a/./", "IMG:/c"],
     "pcfs: mv: cannot move '{img}:/a/./' to '{img}:/c': Device or resource busy"),
    (["mv", "IMG:/a/sub/..", "IMG:/b"],
     "pcfs: mv: cannot move '{img}:/a/sub/..' to '{img}:/b': Device or resource busy"),
    (["mv", "IMG:/a", "IMG:/a/sub"],
     "pcfs: mv: cannot move '{img}:/a' to a subdirectory of itself, '{img}:/a/sub/a'"),
    (["mv", "IMG:/a", "IMG:/a/e/x"],
     "pcfs: mv: cannot move '{img}:/a' to a subdirectory of itself, '{img}:/a/e/x'"),
    (["mv", "IMG:/a", "IMG:/lnk/e"],
     "pcfs: mv: cannot move '{img}:/a' to a subdirectory of itself, '{img}:/lnk/e/a'"),
    (["mv", "IMG:/", "IMG:/b"], "pcfs: {img}:/: Device or resource busy"),
    (["mv", "IMG:/top", "IMG:/a/f/."], "pcfs: {img}:/top: Not a directory"),
], ids=["dotdot", "dot", "dot-slash", "sub-dotdot", "into-sub", "into-new", "into-via-link",
        "root", "onto-file-dot"])
def test_mv_refusals(pcfs, env, args, message):
    img, before = env
    refused(pcfs, img, before, args, message)


@pytest.mark.parametrize("args,message", [
    (["cp", "-r", "IMG:/a", "IMG:/a/sub"],
     "pcfs: {img}:/a: cannot copy a directory into itself, '{img}:/a/sub/a'"),
    (["cp", "-r", "IMG:/a", "IMG:/b/../a/sub/new"],
     "pcfs: {img}:/a: cannot copy a directory into itself, '{img}:/b/../a/sub/new'"),
    (["cp", "-r", "IMG:/rootlnk/a", "IMG:/lnk/sub"],
     "pcfs: {img}:/rootlnk/a: cannot copy a directory into itself, '{img}:/lnk/sub/a'"),
    (["cp", "-r", "IMG:/", "IMG:/a/e"],
     "pcfs: {img}:/: cannot copy a directory into itself, '{img}:/a/e'"),
    (["cp", "-r", "IMG:/a/sub", "IMG:/a"],
     "pcfs: {img}:/a/sub: cannot copy a directory into itself, '{img}:/a/sub'"),
    (["cp", "IMG:/top", "IMG:/top"], "pcfs: {img}:/top: '{img}:/top' and '{img}:/top' are the same file"),
    (["cp", "IMG:/a/f", "IMG:/lnk/./"], "'{img}:/a/f' and '{img}:/lnk/./f' are the same file"),
    (["cp", "IMG:/a/f", "IMG:/top/."], "pcfs: {img}:/top/.: Not a directory"),
], ids=["into-sub", "into-via-dotdot", "into-via-links", "root-into-sub", "onto-itself",
        "file-onto-itself", "file-onto-itself-via-link", "onto-file-dot"])
def test_cp_refusals(pcfs, env, args, message):
    img, before = env
    refused(pcfs, img, before, args, message)


def test_cp_never_overwrites_its_image(pcfs, env, work):
    """A host destination that is the image itself (a forgotten ':') is not
    truncated; nor is the image copied into itself."""
    img, before = env
    size = img.stat().st_size
    d = img.parent
    refused(pcfs, img, before, ["cp", "IMG:/top", "IMG"],
            "pcfs: {img}: is the image {img} of this command: not overwritten")
    refused(pcfs, img, before, ["cp", "IMG:/img", str(d)],
            "pcfs: %s/img: is the image {img} of this command: not overwritten" % d)
    os.symlink(img, work / "link-to-img")
    refused(pcfs, img, before, ["cp", "IMG:/top", str(work / "link-to-img")],
            "is the image {img} of this command: not overwritten")
    # cp -r of the whole image into the directory that holds it: the rest
    # is copied out, the image file is left alone
    r = refused(pcfs, img, before, ["cp", "-r", "IMG:/", str(d)],
                "pcfs: %s/img: is the image {img} of this command: not overwritten" % d)
    assert (d / "a/sub/g").read_bytes() == b"g" * 20, r
    refused(pcfs, img, before, ["cp", "IMG", "IMG:/copy"],
            "pcfs: {img}: is the image {img} being written: not copied into itself")
    assert img.stat().st_size == size


def test_cp_host_dir_into_itself(pcfs, work):
    host = work / "h"
    (host / "sub").mkdir(parents=True)
    (host / "x").write_bytes(b"x")
    r = pcfs("cp", "-r", host, host / "sub", ok=False)
    assert "cannot copy a directory into itself, '%s/sub/h'" % host in r.err
    assert sorted(os.listdir(host)) == ["sub", "x"] and os.listdir(host / "sub") == []
    r = pcfs("cp", host / "x", "%s/./x" % host, ok=False)
    assert "are the same file" in r.err
    assert (host / "x").read_bytes() == b"x"


def test_cp_dots_that_are_fine(pcfs, env):
    """'..' that leads out of the source is not 'into itself'; 'DIR/.' copies
    the directory's contents (as cp(1))."""
    img, before = env
    pcfs("cp", "-r", "%s:/a" % img, "%s:/a/../b" % img)
    pcfs("cp", "-r", "%s:/a/." % img, "%s:/c" % img)
    pcfs("cp", "-r", "%s:/a/sub/." % img, "%s:/a/e" % img)
    after = snapshot(img)
    for p in ("/b/a/f", "/b/a/sub/g", "/c/f", "/c/sub/g", "/a/e/g"):
        assert after.get(p, (None,))[0] == "f", (p, sorted(after))
    assert "/c/a" not in after
    fsck(img)


def test_rm_r_never_enters_the_root_through_a_corrupt_entry(pcfs, env):
    """A directory entry that names the root inode (debugfs "link <2>": a
    corrupt image) is neither entered nor removed by rm -r: without the
    check, rm -r IMG:/a removed everything in the image through it."""
    img, before = env
    debugfs(img, 'link <2> "/a/evil"', write=True)
    r = pcfs("rm", "-r", "%s:/a" % img, ok=False, timeout=120)
    assert ("pcfs: rm: it is dangerous to operate recursively on '{img}:/a/evil' "
            "(same as '{img}:/')".format(img=img)) in r.err, r
    assert debugfs_ls(img, "/") == {"a", "b", "top", "img", "lnk", "rootlnk", "lost+found"}
    assert debugfs_ls(img, "/a") == {"evil"}   # the rest of /a is gone, as asked
    assert debugfs(img, 'cat "/top"') == "top" * 10
