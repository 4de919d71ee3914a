#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check-header-names.py SRCDIR [CC] - the public headers keep to their namespace.

For every header include/pagecache/NAME.h under SRCDIR:
  1. a translation unit holding only `#include <pagecache/NAME.h>` compiles
     on its own with CC (default cc) -std=gnu17 -Wall -Wextra -Werror, so
     each header includes what it uses;
  2. every identifier the header puts into a program's namespace starts with
     pc_, PC_, pagecache_ or PAGECACHE_: macros (from CC -E -dD), and, from
     clang's AST (clang -Xclang -ast-dump=json), functions, variables,
     typedefs, struct/union/enum tags (nested ones included, as C gives them
     file scope) and enumeration constants. Struct members and parameters
     are scoped and not checked. Only names declared in the pagecache
     headers count; what they include from the C library does not.

`--self-test` runs the check on a scratch header holding one bad name of
each kind (and good ones) and fails unless exactly the bad ones are found,
so the check itself is known to catch what it claims to.

Exit 0: all clean; 1: a header does not compile alone or defines an
unprefixed name (each printed as `header: kind name`), or clang is missing
(scripts/test.sh installs the Debian package clang).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PREFIX = re.compile(r'^(pc_|PC_|pagecache_|PAGECACHE_)')


def run(cmd, src):
    return subprocess.run(cmd, input=src, capture_output=True, text=True)


def names_of(incdir, header, cc):
    """Return (errors, [(kind, name)]) for one header."""
    errors = []
    src = '#include <pagecache/%s>\n' % header
    ours = os.path.join(os.path.realpath(incdir), 'pagecache') + os.sep
    c = run([cc, '-std=gnu17', '-Wall', '-Wextra', '-Werror', '-fsyntax-only',
             '-I', incdir, '-x', 'c', '-'], src)
    if c.returncode != 0:
        errors.append('%s: does not compile alone with %s:\n%s' % (header, cc, c.stderr.strip()))
        return errors, []
    found = []
    e = run([cc, '-std=gnu17', '-E', '-dD', '-I', incdir, '-x', 'c', '-'], src)
    cur = None
    for line in e.stdout.splitlines():
        m = re.match(r'# \d+ "([^"]+)"', line)
        if m:
            cur = os.path.realpath(m.group(1)) if m.group(1)[0] != '<' else m.group(1)
            continue
        if cur and cur.startswith(ours):
            m = re.match(r'#define (\w+)', line)
            if m:
                found.append(('macro', m.group(1), os.path.basename(cur)))
    a = run(['clang', '-std=gnu17', '-fsyntax-only', '-Xclang', '-ast-dump=json',
             '-I', incdir, '-x', 'c', '-'], src)
    if a.returncode != 0:
        errors.append('%s: clang cannot parse it:\n%s' % (header, a.stderr.strip()))
        return errors, found
    tree = json.loads(a.stdout)
    curfile = [None]

    def file_of(node):
        loc = node.get('loc', {})
        for l in (loc, loc.get('expansionLoc') or {}, loc.get('spellingLoc') or {}):
            if l.get('file'):
                curfile[0] = os.path.realpath(l['file'])
                break
        return curfile[0]

    def visit(node, top):
        kind = node.get('kind')
        f = file_of(node) if top else curfile[0]
        if not f or not f.startswith(ours) or node.get('isImplicit'):
            return
        base = os.path.basename(f)
        name = node.get('name')
        if kind in ('FunctionDecl', 'VarDecl', 'TypedefDecl') and top and name:
            found.append((kind, name, base))
        elif kind in ('RecordDecl', 'EnumDecl'):
            if name:
                found.append((kind, name, base))
            for child in node.get('inner', []) or []:
                ck = child.get('kind')
                if ck == 'EnumConstantDecl':
                    found.append(('enum constant', child['name'], base))
                elif ck in ('RecordDecl', 'EnumDecl'):
                    visit(child, False)
                elif ck == 'FieldDecl':
                    for g in child.get('inner', []) or []:
                        if g.get('kind') in ('RecordDecl', 'EnumDecl'):
                            visit(g, False)

    for node in tree.get('inner', []):
        visit(node, True)
    return errors, found


def check(incdir, cc):
    hdrs = sorted(h for h in os.listdir(os.path.join(incdir, 'pagecache')) if h.endswith('.h'))
    if not hdrs:
        return ['no headers under %s/pagecache' % incdir], []
    errors, bad, total = [], {}, set()
    for h in hdrs:
        err, found = names_of(incdir, h, cc)
        errors += err
        for kind, name, base in found:
            total.add(name)
            if not PREFIX.match(name):
                bad.setdefault((base, kind, name), 1)
    return errors, sorted(bad), hdrs, total


def self_test(cc):
    d = tempfile.mkdtemp(prefix='pc-hdrnames-')
    try:
        os.makedirs(os.path.join(d, 'pagecache'))
        with open(os.path.join(d, 'pagecache', 'bad.h'), 'w') as f:
            f.write('#ifndef PAGECACHE_BAD_H\n#define PAGECACHE_BAD_H\n'
                    '#include <stdint.h>\n'
                    '#define BAD_MACRO 1\n#define PC_GOOD_MACRO 2\n'
                    'typedef uint64_t bad_t;\ntypedef uint64_t pc_good_t;\n'
                    'enum { BAD_CONST, PC_GOOD_CONST };\n'
                    'struct bad_tag { struct bad_nested { int x; } n; int y; };\n'
                    'struct pc_good_tag { int bad_member_is_fine; };\n'
                    'static inline int bad_inline(int bad_param) { return bad_param; }\n'
                    'int pc_good_fn(void);\nextern int bad_var;\n'
                    '#endif\n')
        errors, bad, _, _ = check(d, cc)
        got = sorted(name for _, _, name in bad)
        want = sorted(['BAD_MACRO', 'bad_t', 'BAD_CONST', 'bad_tag', 'bad_nested',
                       'bad_inline', 'bad_var'])
        if errors or got != want:
            print('check-header-names: self-test failed: found %s, expected %s %s'
                  % (got, want, errors), file=sys.stderr)
            return 1
        print('check-header-names: self-test: all %d planted names found' % len(want))
        return 0
    finally:
        shutil.rmtree(d)


def main():
    args = [a for a in sys.argv[1:] if a != '--self-test']
    src = args[0] if args else os.path.join(os.path.dirname(__file__), '..')
    cc = args[1] if len(args) > 1 else os.environ.get('CC', 'cc')
    if shutil.which('clang') is None:
        print('check-header-names: clang not found (install the Debian package clang)',
              file=sys.stderr)
        return 1
    if '--self-test' in sys.argv:
        return self_test(cc)
    errors, bad, hdrs, total = check(os.path.join(src, 'include'), cc)
    for e in errors:
        print('check-header-names: ' + e, file=sys.stderr)
    for base, kind, name in bad:
        print('check-header-names: %s: %s %s is not prefixed pc_/PC_/pagecache_'
              % (base, kind, name), file=sys.stderr)
    if errors or bad:
        return 1
    print('check-header-names: %d headers compile alone; %d names, all prefixed'
          % (len(hdrs), len(total)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
