"""The archive as a file: its entries, written the same way by the build
(tools/finish_pyz.py) and by `initapp install`; and one CPython version's set of
bytecode, compiled by that version for build.sh (tools/compile_set.py) and for
`initapp install` when the archive has none for the interpreter it installs for.
Not on the init's start path; standard library only, and no import of the
package: the build's tools load this file by itself.

A set is one entry of the archive, bytecode/TAG: the marshalled pair (the code of
set_finder.py, {module name: (is package, start, length)}), then each module's
marshalled code, one after the other (marshal.loads reads the pair and ignores
what follows); start counts from the entry's end. The finder reads each module's
code from the one entry's bytes: no copy of every module at start. TAG is the
interpreter's cache tag and magic number; the archive's __main__ reads the entry
of its own TAG, so another version, or a pre-release whose magic number differs,
finds none and imports the sources.

zipimport reads and parses every archive entry's header at start and opens the
archive again for each module it loads, so one entry per version costs a fraction
of one .pyc per module and version; and the finder, compiled here, is not compiled
again at every start as the archive's __main__ is. Each code object names the
module's source in the archive as its file.

The same sources and interpreter give the same bytes, whoever asks: marshal
(before 3.11) marks a string as referenced again when something else in the
process holds it too, so what the compiling process has imported shows in the
output. The build and the install therefore run the very same child process, the
interpreter with COMPILER and the sources on its standard input, and nothing else
in it."""

import marshal
import os
import subprocess

SOURCE_PREFIX = "site-packages/"
MARK = SOURCE_PREFIX + "initapp/main.py"  # what makes a zip archive initapp's
SETS = "bytecode/"
DATE = (1980, 1, 1, 0, 0, 0)              # every entry's: the earliest a zip can hold


def write(out, shebang, files):
    """The archive to the open file out: the line #!shebang, then the entries of
    files ({name: bytes}) by name, each with one date and mode, stored: the same
    shebang and files give the same bytes."""
    import zipfile

    out.write(b"#!" + shebang + b"\n")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])


def read(source):
    """{name: bytes} of an archive (a path or a file object); ValueError if it is
    no initapp archive."""
    import zipfile

    try:
        with zipfile.ZipFile(source) as archive:
            files = {name: archive.read(name) for name in archive.namelist()
                     if not name.endswith("/")}
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(str(error)) from None
    if MARK not in files:
        raise ValueError("no %s" % MARK)
    return files


def versions(names):
    """"3.8", "3.13", ... for the sets among names (bytecode/cpython-313-3571)."""
    found = set()
    for name in names:
        if name.startswith(SETS + "cpython-3"):
            digits = name[len(SETS + "cpython-"):].split("-")[0]
            found.add((int(digits[0]), int(digits[1:])))
    return ["%d.%d" % version for version in sorted(found)]

# Run as `python -IS -X no_debug_ranges -c COMPILER`, standard input: the marshalled
# list of (path under site-packages, source) as bytes; standard output: "TAG
# VERSION\n", then the set. Modules in the order of their paths; CPython 3.8+.
# Without docstrings (the sources in the archive keep them, for readers and for
# tracebacks) and, from 3.11, without column positions (tracebacks point at lines):
# every start unmarshals the code it imports, about 10 us a kilobyte.
COMPILER = """\
import ast, marshal, sys
from importlib.util import MAGIC_NUMBER
sources = dict(marshal.loads(sys.stdin.buffer.read()))
def undocumented(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \\
                    and isinstance(first.value.value, str):
                node.body[:1] = [] if node.body[1:] else [ast.copy_location(ast.Pass(), first)]
    return tree
def code(source, name):
    return compile(undocumented(ast.parse(source, name)), name, "exec", dont_inherit=True,
                   optimize=0)
modules, codes = {}, []
for path in sorted(sources):
    relative = path.decode()
    if relative.endswith(".py"):
        module = relative[:-3].replace("/", ".")
        package = module.endswith(".__init__")
        if package:
            module = module[:-9]
        codes.append(marshal.dumps(code(sources[path], "site-packages/" + relative)))
        modules[module] = (package, sum(map(len, codes[:-1])), len(codes[-1]))
end = sum(map(len, codes))
modules = {module: (package, start - end, length) for module, (package, start, length)
           in modules.items()}
finder = code(sources[b"initapp/set_finder.py"], "set_finder.py")
# The same expression as in the archive's __main__ (tools/finish_pyz.py).
tag = "%s-%d" % (sys.implementation.cache_tag, int.from_bytes(MAGIC_NUMBER[:2], "little"))
sys.stdout.buffer.write(("%s %d.%d.%d\\n" % ((tag,) + tuple(sys.version_info[:3]))).encode())
sys.stdout.buffer.write(marshal.dumps((finder, modules)))
sys.stdout.buffer.write(b"".join(codes))
"""


class CompileError(Exception):
    """The interpreter could not compile the sources (its last line of stderr)."""


def compile_with(python, sources, timeout=120):
    """(tag, version, the set's bytes) from python for sources: {path under
    site-packages: source bytes}."""
    listing = marshal.dumps(sorted((path.encode(), bytes(data)) for path, data in sources.items()))
    try:
        done = subprocess.run([python, "-IS", "-X", "no_debug_ranges", "-c", COMPILER],
                              input=listing,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CompileError(getattr(error, "strerror", None) or str(error)) from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CompileError("exit %d%s" % (done.returncode, ": " + lines[-1] if lines else ""))
    head, _, data = done.stdout.partition(b"\n")
    tag, version = head.decode().split()
    return tag, version, data


def read_directory(site_packages):
    """The sources of a directory laid out as the archive's site-packages."""
    sources = {}
    for directory, dirs, files in os.walk(site_packages):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                sources[os.path.relpath(path, site_packages).replace(os.sep, "/")] = f.read()
    return sources


def sources(files):
    """The sources among an archive's entries ({name: bytes})."""
    return {name[len(SOURCE_PREFIX):]: data for name, data in files.items()
            if name.startswith(SOURCE_PREFIX)}
