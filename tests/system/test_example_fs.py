# SPDX-License-Identifier: LGPL-2.1-or-later
"""examples/hostdirfs.c as an outsider builds it: `meson install --destdir`
the build directory, compile the example with ONE `cc ... $(pkg-config
--cflags --libs pagecache)` line against that tree (headers, pagecache.pc
and libpagecache.so from the install, nothing from the source tree), run it
on a fresh host directory and check the host files it leaves.

Under a sanitizer build (b_sanitize in the build directory's meson-info,
the sysasan stage) the example is compiled and linked with the same
-fsanitize flags, since the installed library needs the sanitizer runtime.
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import BUILD, REPO, assert_no_sanitizer_report, random_bytes


def _sanitize_flags():
    """-fsanitize=... matching the build directory's b_sanitize, or []."""
    try:
        opts = json.loads((BUILD / "meson-info" / "intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return []
    for o in opts:
        if o.get("name") == "b_sanitize":
            v = o.get("value")
            v = ",".join(v) if isinstance(v, list) else str(v)
            if v and v != "none":
                return ["-fsanitize=" + v]
    return []


def _pattern(seed, n):
    """The example's test pattern: byte i of file @seed."""
    return bytes(ord("a") + (i * 7 + seed) % 26 for i in range(n))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(destdir, pkgconfig dir, library dir) of a fresh `meson install`."""
    if shutil.which("pkg-config") is None or shutil.which("cc") is None:
        pytest.skip("needs pkg-config and cc")
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(dest), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    pcs = list(dest.rglob("pkgconfig/pagecache.pc"))
    assert len(pcs) == 1, "meson install put no (or several) pagecache.pc: %s" % pcs
    pc = pcs[0]
    text = pc.read_text()
    prefix = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("prefix="))
    for field in ("Libs:", "Cflags:"):
        assert field in text, "pagecache.pc lacks %s" % field
    # Point a copy of the .pc at the staged tree: the system paths of the
    # private requirements (liburcu, ext2fs...) stay as they are.
    pcdir = dest / "pc-staged"
    pcdir.mkdir()
    (pcdir / "pagecache.pc").write_text(text.replace("prefix=" + prefix, "prefix=%s%s" % (dest, prefix), 1))
    libdir = pc.parent.parent
    assert any(libdir.glob("libpagecache.so*")), "no shared library in %s" % libdir
    assert (dest / prefix.lstrip("/") / "share/doc/pagecache/examples/hostdirfs.c").is_file(), \
        "meson install did not install examples/hostdirfs.c"
    return dest, pcdir, libdir


def test_hostdirfs_builds_and_runs(installed, work):
    dest, pcdir, libdir = installed
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcdir), LC_ALL="C")
    env.pop("PKG_CONFIG_SYSROOT_DIR", None)
    exe = work / "hostdirfs"
    # The installed copy of the example, so the test also covers what users get.
    src = next(dest.rglob("share/doc/pagecache/examples/hostdirfs.c"))
    # The one command line, as the example's header gives it (plus the
    # sanitizer flags of a sanitizer build and -Werror for our own CI).
    cmd = "cc -Wall -Wextra -Werror %s -o %s %s $(pkg-config --cflags --libs pagecache)" % (
        " ".join(_sanitize_flags()), exe, src)
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, "%s\n%s%s" % (cmd, r.stdout, r.stderr)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "pagecache"], capture_output=True,
                           text=True, env=env).stdout
    assert str(REPO) not in flags and str(BUILD) not in flags, "pkg-config points into the source tree: " + flags

    host = work / "host"
    host.mkdir()
    existing = random_bytes(100000, 8)
    (host / "existing").write_bytes(existing)
    env["LD_LIBRARY_PATH"] = str(libdir)
    r = subprocess.run([str(exe), str(host)], capture_output=True, text=True, env=env, timeout=120)
    assert_no_sanitizer_report(r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all checks passed" in r.stdout
    # The loader took the staged library, not some other copy.
    ldd = subprocess.run(["ldd", str(exe)], capture_output=True, text=True, env=env).stdout
    assert str(libdir) in ldd, ldd

    # The host directory, read with plain Python: what the example wrote.
    assert sorted(os.listdir(host)) == ["big", "direct", "existing", "short"]
    big = 300 * 1024 + 123
    assert (host / "big").read_bytes() == _pattern(1, big)
    assert (host / "short").read_bytes() == _pattern(1, 5000)
    assert (host / "direct").read_bytes() == _pattern(3, 64 * 1024)
    # 9 bytes overwritten in the middle of a page; the rest of the page and
    # of the file kept (write_begin read it from the host).
    want = existing[:5000] + b"PAGECACHE" + existing[5009:]
    assert (host / "existing").read_bytes() == want
