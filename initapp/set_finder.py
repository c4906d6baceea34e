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

    def __init__(self, modules, sources):
        self.modules = modules  # name: (is package, marshalled code)
        self.sources = sources  # the archive's site-packages

    def find_spec(self, name, path=None, target=None):
        if name not in self.modules:
            return None
        return spec_from_loader(name, self, is_package=self.modules[name][0])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        # A module runs once: its bytes need not stay in memory.
        exec(marshal.loads(self.modules.pop(module.__name__)[1]), module.__dict__)

    def get_source(self, name):
        from zipimport import zipimporter

        package = name.rpartition(".")[0].replace(".", "/")
        return zipimporter(os.path.join(self.sources, package)).get_source(name)


def install(modules, sources):
    sys.meta_path.insert(0, Bytecode(modules, sources))
