"""init.pyz probe CHECK [--timeout SECONDS]: one health check, for a HEALTHCHECK
in an image without curl (python:*-slim, distroless).

Exit 0 healthy (nothing written), 1 unhealthy with one line on stderr saying why,
2 for a usage error. The timeout is always on: an engine starts the next probe
on its own schedule, and one that never ends would pile up beside it."""

import sys

from initapp import checks
from initapp.defaults import (EXIT_USAGE, LOG_PREFIX, MSG_PROBE_BAD_TIMEOUT,
                              MSG_PROBE_NO_CHECK, MSG_PROBE_TWO_CHECKS, MSG_PROBE_UNHEALTHY,
                              MSG_PROBE_USAGE, PROBE_TIMEOUT_SECONDS, PROBE_USAGE)
from initapp.log import clip, printable, quoted

EXIT_UNHEALTHY = 1


class Usage(Exception):
    pass


def parse(argv):
    """(check text, timeout), "help", or raise Usage with the message."""
    text, timeout = None, PROBE_TIMEOUT_SECONDS
    words = iter(argv)
    only_check = False
    for word in words:
        if not only_check and word in ("-h", "--help"):
            return "help"
        if not only_check and word == "--":
            only_check = True
            continue
        if not only_check and (word == "--timeout" or word.startswith("--timeout=")):
            flag, equals, value = word.partition("=")
            if not equals:
                value = next(words, None)
                if value is None:
                    raise Usage("--timeout needs a value")
            timeout = _timeout(value)
            continue
        if not only_check and word.startswith("-"):
            raise Usage("unknown option: %s" % quoted(word))
        if text is not None:
            raise Usage(MSG_PROBE_TWO_CHECKS.format(first=quoted(text), second=quoted(word)))
        text = word
    if text is None:
        raise Usage(MSG_PROBE_NO_CHECK)
    return text, timeout


def _timeout(value):
    from initapp.cli import seconds

    try:
        timeout = seconds(value)
    except ValueError as error:
        raise Usage("--timeout: %s" % error)
    if timeout <= 0:
        raise Usage(MSG_PROBE_BAD_TIMEOUT.format(value=quoted(value)))
    return timeout


def main(argv):
    try:
        parsed = parse(argv)
        if parsed == "help":
            sys.stdout.write(PROBE_USAGE.format(timeout=PROBE_TIMEOUT_SECONDS))
            return 0
        text, timeout = parsed
        try:
            check = checks.parse(text)
        except ValueError as error:
            raise Usage(str(error))
    except Usage as error:
        _say("error: " + MSG_PROBE_USAGE.format(error=error))
        return EXIT_USAGE
    ok, reason = checks.run(check, timeout)
    if ok:
        return 0
    _say(MSG_PROBE_UNHEALTHY.format(check=clip(text), reason=reason))
    return EXIT_UNHEALTHY


def _say(message):
    # One line, whatever the check's text or the server's answer held.
    sys.stderr.write("%s %s\n" % (LOG_PREFIX, printable(message)))
    sys.stderr.flush()
