"""Random argv and environment: never a traceback, always a one-line error and a
documented exit code (or the command runs)."""

import json
import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from initapp import cli
from support import CLEAN_ENV

pytestmark = pytest.mark.timeout(300)

FLAGS = sorted({flag for option in cli.OPTIONS for flag in (option.short, option.long) if flag}
               - {"-h", "--help", "-V", "--version", "-l", "--license"})
# Only these are followed by a value: after a switch, a value would be the command.
VALUE_FLAGS = sorted(flag for option in cli.OPTIONS if option.takes_value()
                     for flag in (option.short, option.long) if flag)
VARIABLES = sorted({option.variable for option in cli.OPTIONS if option.variable}
                   | {name for name, _, _ in cli.PEER_VARIABLES})
VALUES = st.one_of(st.text(max_size=20), st.sampled_from(
    ["0", "1", "-1", "1e999", "nan", "TERM", "SIGRTMIN+3", "RTMAX-99", "15:0", "TERM:5", "HUP:x",
     "root", "0:0", "nobody:", "4294967295", "²", "json", "A=B", "=x", "/", "/nonexistent"]
)).filter(lambda text: "\0" not in text)  # no argv or environment can hold a NUL byte
WORDS = st.one_of(st.sampled_from(FLAGS), VALUES.map(lambda text: "-" + text),
                  st.tuples(st.sampled_from(FLAGS), VALUES).map(lambda pair: "%s=%s" % pair))
ARGV = st.lists(st.one_of(WORDS, st.tuples(st.sampled_from(VALUE_FLAGS), VALUES)), max_size=6).map(
    lambda items: [word for item in items
                   for word in (item if isinstance(item, tuple) else (item,))])
ENVIRON = st.dictionaries(st.sampled_from(VARIABLES), VALUES, max_size=4)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ARGV, ENVIRON)
def test_parser_only_raises_one_line_usage_errors(argv, environ):
    try:
        config = cli.parse(argv + ["--", "true"], environ)
    except cli.UsageError as error:
        message = str(error)
        assert message and "\n" not in message
        return
    assert config.command[-1:] == ["true"] or config.command == []


@pytest.fixture(scope="module")
def fuzz_cwd(shared_dir):
    path = shared_dir / "fuzz-cwd"
    path.mkdir(mode=0o755)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ARGV, ENVIRON)
def test_init_pyz_never_shows_a_traceback(init_pyz, fuzz_cwd, argv, environ):
    # Every random word starts with "-" or is the value of a flag that takes one: the
    # only command that can run is `true` (a value taken as "--" leaves none: exit 2).
    # A bad value is exit 2, never 1 (the command started and its setup failed): from
    # an empty directory every user may enter, a relative --workdir names nothing
    # or it. 127 and 126: `--env PATH=...` can hide `true`.
    result = subprocess.run([str(init_pyz)] + argv + ["--", "true"], capture_output=True,
                            text=True, errors="replace", timeout=30, stdin=subprocess.DEVNULL,
                            env=dict(CLEAN_ENV, **environ), cwd=str(fuzz_cwd))
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2, 126, 127), result.stderr
    if result.returncode == 2:
        # One error line, as text or (with --log-format json among the words or in
        # the variables) as JSON: nothing else, since nothing started.
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        if lines[0].startswith("{"):
            record = json.loads(lines[0])
            assert (record["level"], record["event"]) == ("error", "usage"), result.stderr
        else:
            assert re.match(r"(\S+ )?\[initapp\] error: ", lines[0]), result.stderr
