"""The import finder for one version's set of bytecode in init.pyz.

It runs inside the archive at start: bytecode.py compiles this file with the
same Python as the modules and stores it in the set, so that the archive's
__main__ (compiled from source at every start) stays a few lines; __main__ calls
install() with the set's modules. Standard library only, CPython 3.8+."""

import marshal
import os
import sys
from importlib.util import spec_from_loader


class Bytecode:
    """Finds and loads the modules of the set; the archive's sources serve tracebacks."""

    def __init__(self, modules, data, sources):
        self.modules = modules            # name: (is package, start from the end, length)
        self.data = memoryview(data)      # the set's entry, read whole: one block of memory
        self.sources = sources            # the archive's site-packages

    def find_spec(self, name, path=None, target=None):
        if name not in self.modules:
            return None
        return spec_from_loader(name, self, is_package=self.modules[name][0])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        _, start, length = self.modules.pop(module.__name__)  # a module runs once
        start += len(self.data)
        exec(marshal.loads(self.data[start:start + length]), module.__dict__)

    def keep_only(self, names):
        """Keeps the code of these modules (those not imported yet) in a block of its
        own and lets the entry go: the init holds, for its whole life, only what it
        may still import. Any other module imports from the sources, as without a set."""
        end = len(self.data)
        kept = [(name,) + self.modules[name] for name in names if name in self.modules]
        data = b"".join(self.data[end + start:end + start + length] for _, _, start, length in kept)
        self.modules, end = {}, -len(data)
        for name, package, _, length in kept:
            self.modules[name] = (package, end, length)
            end += length
        self.data = memoryview(data)

    def get_source(self, name):
        from zipimport import zipimporter

        package = name.rpartition(".")[0].replace(".", "/")
        return zipimporter(os.path.join(self.sources, package)).get_source(name)


def install(modules, data, sources):
    sys.meta_path.insert(0, Bytecode(modules, data, sources))
