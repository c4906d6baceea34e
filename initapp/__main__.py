import sys

from initapp.defaults import EXIT_USAGE, MIN_PYTHON, MSG_UNSUPPORTED_PYTHON

# python -m initapp from a checkout: the archive's __main__ makes the same check
# (tools/finish_pyz.py); this file and defaults.py parse on Python 2.7 and 3.0 up.
if sys.version_info < MIN_PYTHON:
    sys.stderr.write("[initapp] error: %s\n"
                     % MSG_UNSUPPORTED_PYTHON.format(version=sys.version.split()[0]))
    sys.exit(EXIT_USAGE)

from initapp.main import main  # noqa: E402

sys.exit(main())
