# SPDX-License-Identifier: LGPL-2.1-or-later
"""Images populated by e2fsprogs (mke2fs -d, debugfs write) read back
through pcfs cat and pcfs cp -r, byte for byte; reading never changes the
image."""
import os
import subprocess

import pytest

from conftest import (MiB, compare_trees, dq, files_equal, random_bytes, run_pcfs, sha256_file,
                      write_random)

COMBOS = [("ext2", 1024), ("ext2", 4096), ("ext3", 2048), ("ext4", 1024), ("ext4", 4096)]
IDS = ["%s-%d" % c for c in COMBOS]


@pytest.mark.parametrize("fstype,bs", COMBOS, ids=IDS)
def test_read_mke2fs_d(pcfs, image, work, trees, fstype, bs):
    src = trees["small"]
    img = image(fstype, bs, "48M", from_dir=src)
    before = sha256_file(img)

    out = work / "out"
    pcfs("cp", "-r", "%s:/" % img, out)
    compare_trees(src, out, modes=0o022)

    names = ["extras/sizes/" + n for n in sorted(os.listdir(src / "extras/sizes"))]
    names += ["extras/big3m", "extras/with space", "linux/" + sorted(os.listdir(src / "linux"))[0]]
    got = pcfs("cat", *["%s:/%s" % (img, n) for n in names]).out
    assert got == b"".join((src / n).read_bytes() for n in names)

    ls = pcfs("ls", "%s:/extras/sizes" % img).text.split()
    assert sorted(ls) == sorted(os.listdir(src / "extras/sizes"))
    assert sha256_file(img) == before, "a read-only command changed the image"


def debugfs_script(img, lines):
    script = img.parent / (img.name + ".debugfs")
    script.write_text("\n".join(lines) + "\n")
    p = subprocess.run(["debugfs", "-w", "-f", str(script), str(img)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    bad = [l for l in p.stderr.splitlines()
           if l.strip() and not l.startswith("debugfs ") and not l.startswith("Allocated inode")]
    assert not bad, "debugfs: %s" % "\n".join(bad)


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext3", 4096), ("ext4", 2048)],
                         ids=["ext2-1024", "ext3-4096", "ext4-2048"])
def test_read_debugfs_written(pcfs, image, work, fstype, bs):
    img = image(fstype, bs, "64M")
    files = {}
    files["empty"] = work / "empty"
    files["empty"].write_bytes(b"")
    files["one"] = work / "one"
    files["one"].write_bytes(b"x")
    files["block_plus"] = work / "block_plus"
    files["block_plus"].write_bytes(random_bytes(bs + 1, 3))
    files["r5m"] = write_random(work / "r5m", 5 * MiB + 13, 5)
    sp = work / "sparse"
    with open(sp, "wb") as f:
        f.truncate(9 * MiB + 100)
        for off in (0, 300 * 1024 + 5, 4 * MiB - 2, 9 * MiB + 50):
            f.seek(off)
            f.write(random_bytes(40, off))
    files["sparse"] = sp
    lines = ["mkdir /sub", "mkdir /sub/deeper"]
    for name, path in files.items():
        lines.append("write %s %s" % (dq(path), dq("/" + name)))
    lines.append("write %s /sub/deeper/again" % dq(files["r5m"]))
    debugfs_script(img, lines)
    before = sha256_file(img)

    for name, path in files.items():
        assert pcfs("cat", "%s:/%s" % (img, name)).out == path.read_bytes(), name
    assert pcfs("cat", "%s:/sub/deeper/again" % img).out == files["r5m"].read_bytes()
    out = work / "out"
    pcfs("cp", "-r", "%s:/" % img, out)
    for name, path in files.items():
        assert files_equal(path, out / name), name
    assert files_equal(files["r5m"], out / "sub/deeper/again")
    assert sha256_file(img) == before


def test_inline_data_read_or_refused(image, work, trees, pcfs_bin):
    """ext4 with inline_data (small files inside the inode): pcfs must
    either read them correctly or refuse with a message, never return
    wrong bytes."""
    src = trees["small"] / "extras" / "sizes"
    img = image("ext4", 4096, "32M", from_dir=src, extra=("-O", "inline_data"))
    before = sha256_file(img)
    names = sorted(os.listdir(src))
    for n in names:
        r = run_pcfs("cat", "%s:/%s" % (img, n), ok=None)
        if r.rc == 0:
            assert r.out == (src / n).read_bytes(), "%s: wrong bytes" % n
        else:
            assert r.err.startswith("pcfs: "), r
    assert sha256_file(img) == before
