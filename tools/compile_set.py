"""Have one Python compile the runtime package: that version's set of bytecode for
init.pyz (initapp/archive.py says what a set is, and how it stays the same bytes).

    python3 -IS tools/compile_set.py PYTHON SOURCE_DIR OUTPUT_DIR

SOURCE_DIR is the archive's site-packages as build.sh lays it out. PYTHON compiles
it in the child process `initapp install` runs too. Writes OUTPUT_DIR/TAG and
prints "TAG VERSION"; exits 1 with PYTHON's last line when it cannot compile."""

import os
import sys


def load_archive_module():
    """initapp/archive.py beside this directory, without importing the package: the
    code `initapp install` runs."""
    from importlib.util import module_from_spec, spec_from_file_location

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "initapp",
                        "archive.py")
    sys.dont_write_bytecode = True  # no __pycache__ in the checkout
    spec = spec_from_file_location("initapp_archive", path)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: compile_set.py PYTHON SOURCE_DIR OUTPUT_DIR")
    python, source, output = sys.argv[1:]
    archive = load_archive_module()
    try:
        tag, version, data = archive.compile_with(python, archive.read_directory(source))
    except archive.CompileError as error:
        sys.exit("compile_set.py: %s cannot compile the package: %s" % (python, error))
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, tag), "wb") as out:
        out.write(data)
    print(tag, version)
