"""Compile the runtime package with the Python running this script: that version's
set of bytecode for init.pyz. Runs on every CPython 3.8+: standard library only.

    python3.X -IS tools/compile_set.py SOURCE_DIR OUTPUT_DIR

writes OUTPUT_DIR/TAG and prints "TAG VERSION". TAG is this interpreter's cache tag
and magic number; init.pyz's start-up reads the entry of its own TAG, so another
version, or a pre-release whose magic number differs, finds none and imports the
sources.

A set is one file: the marshalled pair (the code of set_finder.py, {module name:
(is package, marshalled code)}). zipimport reads and parses every archive entry's
header at start and opens the archive again for each module it loads, so one entry
per version costs a fraction of one .pyc per module and version; and the finder,
compiled here, is not compiled again at every start as the archive's __main__ is.
Each code object names the module's source in the archive as its file."""

import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER

SOURCE_PREFIX = "site-packages/"
FINDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "set_finder.py")


def tag():
    # The same expression as in init.pyz's __main__ (tools/finish_pyz.py).
    return "%s-%d" % (sys.implementation.cache_tag, int.from_bytes(MAGIC_NUMBER[:2], "little"))


def compile_file(path, name):
    with open(path, "rb") as f:
        return compile(f.read(), name, "exec", dont_inherit=True, optimize=0)


def compile_tree(source_dir):
    """{module name: (is package, marshalled code)} for every .py under source_dir."""
    modules = {}
    for directory, dirs, files in os.walk(source_dir):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, source_dir).replace(os.sep, "/")
            code = compile_file(path, SOURCE_PREFIX + relative)
            module = relative[:-len(".py")].replace("/", ".")
            package = module.endswith(".__init__")
            if package:
                module = module[:-len(".__init__")]
            modules[module] = (package, marshal.dumps(code))
    return modules


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compile_set.py SOURCE_DIR OUTPUT_DIR")
    os.makedirs(sys.argv[2], exist_ok=True)
    with open(os.path.join(sys.argv[2], tag()), "wb") as out:
        out.write(marshal.dumps((compile_file(FINDER, "set_finder.py"),
                                 compile_tree(sys.argv[1]))))
    print(tag(), "%d.%d.%d" % sys.version_info[:3])
