# SPDX-License-Identifier: LGPL-2.1-or-later
"""objfs snapshots through pcfs, on both object stores (the objfs fixture of
test_objfs.py: a directory store, and a fresh pool of the test cluster):
`pcfs snap create|ls|rm`, reading `SOURCE:/.snap/NAME/...`, `pcfs batch`
(several commands in one mount, so a snapshot is taken while the data just
copied in is still dirty in the cache), and the snap-context lines of
`--stats`.

Oracles: the host tree the data came from (compare_trees on what pcfs
copies out of the snapshot and of head), the directory store's own files
(clone files DIR/snap/NAME@ID gone after `snap rm`), and the dirty page
counts per context that pc_mount_get_snap_stats reports before the final
sync."""
import os
import re
import shutil

import pytest

from conftest import compare_trees, random_bytes, run_pcfs
from test_objfs import objfs  # noqa: F401 (the fixture, parametrized dir/rados)


def snap_dirty(err):
    """{seq: pages} of the "dirty in context" lines printed before the final
    sync, and the current seq ("snap context seq") of --stats."""
    before, seq, where = {}, None, None
    for line in err.splitlines():
        m = re.match(r"^\s+dirty contexts\s+\d+ contexts? \((before final sync|after sync)\)$", line)
        if m:
            where = m.group(1)
            continue
        m = re.match(r"^\s+dirty in context\s+seq (\d+): (\d+) pages", line)
        if m and where == "before final sync":
            before[int(m.group(1))] = int(m.group(2))
        m = re.match(r"^\s+snap context seq\s+(\d+) \((\d+) live", line)
        if m:
            seq = int(m.group(1))
    return before, seq


def clone_files(objfs):
    """The clone files of a directory store (DIR/snap/NAME@ID)."""
    return sorted(n for n in os.listdir(objfs.dir / "snap") if "@" in n)


def make_tree(root):
    (root / "sub").mkdir(parents=True)
    (root / "a").write_bytes(b"the original a\n")
    for i in range(1, 4):
        (root / "sub" / ("f%d" % i)).write_bytes(random_bytes(150000 + i * 4096, i))
    (root / "big").write_bytes(random_bytes(3 << 20, 9))      # several object writes
    os.symlink("sub/f1", root / "link")


def test_snap_create_ls_rm(objfs, work):
    objfs.mkfs()
    v1, v2 = work / "v1", work / "v2"
    v1.write_bytes(b"old content\n" * 1000)
    v2.write_bytes(b"new\n")
    objfs.pcfs("cp", v1, objfs.p("/f"))
    assert objfs.pcfs("snap", "ls", objfs.src).text == ""
    objfs.pcfs("snap", "create", objfs.src, "s1")
    objfs.pcfs("cp", v2, objfs.p("/f"))
    assert objfs.pcfs("cat", objfs.p("/.snap/s1/f")).out == v1.read_bytes()
    assert objfs.pcfs("cat", objfs.p("/f")).out == b"new\n"
    assert objfs.pcfs("snap", "ls", objfs.src).text.split() == ["s1"]
    objfs.pcfs("snap", "create", objfs.src + ":/", "s2", "s3")
    assert objfs.pcfs("snap", "ls", objfs.src).text.split() == ["s1", "s2", "s3"]
    assert objfs.pcfs("cat", objfs.p("/.snap/s2/f")).out == b"new\n"
    if objfs.backend == "dir":
        assert clone_files(objfs), "a snapshotted, rewritten file keeps a clone"

    # errors: an existing name, an unknown name; nothing changes
    r = objfs.pcfs("snap", "create", objfs.src, "s1", ok=False)
    assert "pcfs: %s:/.snap/s1: File exists" % objfs.src in r.err, r
    r = objfs.pcfs("snap", "rm", objfs.src, "nope", ok=False)
    assert "pcfs: %s:/.snap/nope: No such file or directory" % objfs.src in r.err, r
    assert objfs.pcfs("snap", "ls", objfs.src).text.split() == ["s1", "s2", "s3"]
    assert objfs.pcfs("cat", objfs.p("/.snap/s1/f")).out == v1.read_bytes()
    # snapshots are read-only
    r = objfs.pcfs("cp", v2, objfs.p("/.snap/s1/f"), ok=False)
    assert "Read-only file system" in r.err, r

    objfs.pcfs("snap", "rm", objfs.src, "s1", "s2", "s3")
    assert objfs.pcfs("snap", "ls", objfs.src).text == ""
    r = objfs.pcfs("cat", objfs.p("/.snap/s1/f"), ok=False)
    assert "No such file or directory" in r.err, r
    assert objfs.pcfs("cat", objfs.p("/f")).out == b"new\n"
    if objfs.backend == "dir":
        assert clone_files(objfs) == [], "snap rm trims every clone"


def test_snap_on_ext4_refused(image):
    img = image()
    r = run_pcfs("snap", "create", img, "s", ok=False)
    assert "snapshots need an objfs source" in r.err, r
    r = run_pcfs("batch", "-", input=("snap ls %s\n" % img).encode(), ok=False)
    assert "snapshots need an objfs source" in r.err and ":1: 'snap' failed" in r.err, r


def test_batch_snapshot_while_dirty(objfs, work):
    """One pcfs batch: copy a tree in, snapshot it while its pages are still
    dirty (--stats: dirty in the older context before the final sync), then
    change, change-and-delete and delete files. The snapshot keeps the tree
    as copied; head has the changes. Then snap rm removes it."""
    objfs.mkfs()
    tree = work / "tree"
    make_tree(tree)
    new_a = work / "new_a"
    new_a.write_bytes(b"a, changed after the snapshot\n")
    big2 = work / "big2"
    big2.write_bytes(random_bytes(1 << 20, 77))
    script = work / "script"
    script.write_text("\n".join([
        "# copy in, snapshot while dirty, then change things",
        "cp -r '%s' '%s'" % (tree, objfs.p("/doc")),
        "snap create %s before" % objfs.src,
        "cp %s %s" % (new_a, objfs.p("/doc/a")),
        "cp %s %s" % (big2, objfs.p("/doc/sub/f1")),     # changed, then deleted
        "rm %s" % objfs.p("/doc/sub/f1"),
        "rm %s %s" % (objfs.p("/doc/sub/f2"), objfs.p("/doc/link")),
        "truncate -s 5000 %s" % objfs.p("/doc/big"),
        "",
    ]) + "\n")
    r = objfs.pcfs("--stats", "batch", script)
    before, seq = snap_dirty(r.err)
    assert seq is not None and seq >= 1, r.err    # RADOS hands out ids from its pool's seq
    older = sum(p for s, p in before.items() if s < seq)
    # The changes after the snapshot write the older context's pages of the
    # files they touch first (truncate, unlink); sub/f3, never touched
    # again, was still dirty in the context before the snapshot when the
    # batch ended (nothing was synced between the lines).
    f3_pages = ((tree / "sub" / "f3").stat().st_size + 4095) // 4096
    assert older >= f3_pages, "pages dirty in the older context before sync: %r\n%s" % (
        before, r.err)
    assert re.search(r"^\s+snapshots taken\s+1$", r.err, re.M), r.err
    m = re.search(r"^\s+data object writes\s+(\d+) \((\d+) pages\)$", r.err, re.M)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) >= older, r.err
    assert re.search(r"^\s+dirty contexts\s+0 contexts \(after sync\)$", r.err, re.M), r.err

    # from fresh mounts: the snapshot is the tree as copied, head the changes
    snap_out, head_out = work / "snap_out", work / "head_out"
    objfs.pcfs("cp", "-r", objfs.p("/.snap/before/doc"), snap_out)
    compare_trees(tree, snap_out)
    objfs.pcfs("cp", "-r", objfs.p("/doc"), head_out)
    assert (head_out / "a").read_bytes() == new_a.read_bytes()
    assert sorted(os.listdir(head_out / "sub")) == ["f3"]
    assert not os.path.lexists(head_out / "link")
    assert (head_out / "big").read_bytes() == (tree / "big").read_bytes()[:5000]
    assert (head_out / "sub" / "f3").read_bytes() == (tree / "sub" / "f3").read_bytes()

    objfs.pcfs("snap", "rm", objfs.src, "before")
    assert objfs.pcfs("snap", "ls", objfs.src).text == ""
    if objfs.backend == "dir":
        assert clone_files(objfs) == [], "snap rm trims every clone"
    shutil.rmtree(head_out)
    objfs.pcfs("cp", "-r", objfs.p("/doc"), head_out)
    assert sorted(os.listdir(head_out)) == ["a", "big", "sub"]


def test_batch_lines(objfs, work):
    """batch: quoting, comments, one mount for all lines, and stopping at
    the first failing line with its number (later lines not run)."""
    objfs.mkfs()
    src = work / "a file"
    src.write_bytes(b"x" * 10000)
    script = "\n".join([
        "",
        "   # a comment",
        'mkdir "%s"' % objfs.p("/dir with space"),
        "cp '%s' %s" % (src, objfs.p("/dir\\ with\\ space/f")),
        "ls %s" % objfs.p("/dir with space").replace(" ", "\\ "),
        "rm %s" % objfs.p("/missing"),
        "mkdir %s" % objfs.p("/never"),
    ]) + "\n"
    r = objfs.pcfs("batch", "-", input=script.encode(), ok=False)
    assert r.text == "f\n", r
    assert "pcfs: -:6: 'rm' failed; stopping here" in r.err, r
    assert objfs.pcfs("cat", objfs.p("/dir with space/f")).out == src.read_bytes()
    assert objfs.pcfs("ls", objfs.src).text.splitlines() == ["dir with space"]   # line 7 not run

    for text, want in (("ls 'x\n", "-:1: unterminated quote"),
                       ("ls %s\nfrobnicate\n" % objfs.src, "-:2: unknown command 'frobnicate'"),
                       ("batch -\n", "-:1: nested command 'batch'")):
        r = objfs.pcfs("batch", input=text.encode(), ok=False)
        assert want in r.err, r
    r = run_pcfs("batch", work / "no-such-file", ok=False)
    assert "No such file or directory" in r.err, r
