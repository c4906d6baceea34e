"""The command line: unit tests of the parser, and the built init.pyz's answers."""

import re
import signal
import subprocess

import pytest

from initapp import cli, signals
from support import CLEAN_ENV

pytestmark = pytest.mark.timeout(30)


def parse(*argv, **environ):
    return cli.parse(list(argv), environ)


def test_command_after_options_with_or_without_double_dash():
    assert parse("-g", "sleep", "1").command == ["sleep", "1"]
    assert parse("--", "-weird", "-g").command == ["-weird", "-g"]
    assert parse("sleep", "-g").command == ["sleep", "-g"]  # options stop at the command
    assert parse("-g", "sleep").pgroup is True


def test_values_inline_separate_and_grouped():
    assert parse("-t", "2.5", "x").grace == 2.5
    assert parse("-t2.5", "x").grace == 2.5
    assert parse("--grace=0.25", "x").grace == 0.25
    config = parse("-gvv", "x")
    assert (config.pgroup, config.verbosity) == (True, 3)


@pytest.mark.parametrize("text, number", [
    ("TERM", signal.SIGTERM), ("sigterm", signal.SIGTERM), ("SIGHUP", signal.SIGHUP),
    ("15", 15), ("RTMIN+3", signal.SIGRTMIN + 3), ("SIGRTMAX-1", signal.SIGRTMAX - 1),
    ("rtmin", signal.SIGRTMIN), ("IOT", signal.SIGABRT), ("CLD", signal.SIGCHLD),
])
def test_signal_names_and_numbers(text, number):
    assert signals.parse(text) == number


def test_signal_name_round_trip():
    for signo in signals.CATCHABLE:
        assert signals.parse(signals.name(signo)) == signo


@pytest.mark.parametrize("bad", ["TERMX", "0", "65", "RTMIN+99", "", "SIG"])
def test_bad_signals_are_rejected(bad):
    with pytest.raises(ValueError):
        signals.parse(bad)


@pytest.mark.parametrize("text", ["32", "RTMIN-1"])
def test_signals_the_c_library_keeps_say_so(text):
    # glibc's 32 and 33 (musl's 32 to 34) cannot be blocked or waited for.
    with pytest.raises(ValueError, match=r"^signal 3[23] is reserved by the C library: "):
        signals.parse(text)


def test_lists_and_pairs():
    config = parse("--delay", "TERM:1.5", "--to-all", "HUP", "-r", "USR1:0", "-r", "2:15", "x")
    assert config.delays == {signal.SIGTERM: 1.5}
    assert config.to_all == {signal.SIGHUP}
    assert config.rewrites[signal.SIGUSR1] == 0
    assert config.rewrites[signal.SIGINT] == signal.SIGTERM
    assert config.route(37) == (signal.SIGTERM, signal.SIGTERM)  # podman's stop is TERM


def test_environment_and_precedence():
    env = {"INITAPP_GRACE": "3", "INITAPP_PGROUP": "yes", "INITAPP_VERBOSITY": "0",
           "INITAPP_DELAY": "TERM:1,HUP:2", "INITAPP_TO_ALL": ""}
    config = parse("x", **env)
    assert (config.grace, config.pgroup, config.verbosity) == (3.0, True, 0)
    assert config.delays == {signal.SIGTERM: 1.0, signal.SIGHUP: 2.0}
    assert config.to_all == set()               # empty means unset
    assert parse("-t", "1", "x", **env).grace == 1.0  # the flag wins
    assert parse("x", INITAPP_PGROUP="0").pgroup is False


# Two items of each list variable; a list variable added without one fails here.
LIST_SAMPLES = {
    "INITAPP_REWRITE": ("USR1:USR2", "HUP:0"), "INITAPP_DELAY": ("TERM:5", "HUP:1.5"),
    "INITAPP_TO_ALL": ("HUP", "USR1"), "INITAPP_SUCCESS_CODES": ("143", "130"),
    "INITAPP_STOP_SIGNALS": ("TERM", "QUIT"),
}


@pytest.mark.parametrize("separator", [",", ", ", " , ", ",\t"])
def test_every_list_variable_takes_the_same_syntax(separator):
    lists = [o for o in cli.OPTIONS if o.kind == "list" and o.variable != "INITAPP_ENV"]
    assert sorted(o.variable for o in lists) == sorted(LIST_SAMPLES)
    for option in lists:
        first, second = LIST_SAMPLES[option.variable]
        spaced = getattr(parse("x", **{option.variable: " %s%s%s " % (first, separator, second)}),
                         option.attr)
        assert spaced == getattr(parse("x", **{option.variable: first + "," + second}), option.attr)
        assert len(spaced) >= 2


def test_env_variable_items_are_whole_lines():
    config = parse("x", INITAPP_ENV="A= x , y \nB=2")
    assert config.env == ["A= x , y ", "B=2"]


def test_success_codes_with_spaces(init_pyz):
    result = run(init_pyz, "sh", "-c", "exit 130", INITAPP_SUCCESS_CODES="143, 130")
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("argv, environ, message", [
    (["-t", "soon", "x"], {}, "-t: not a number of seconds: 'soon'"),
    (["--grace", "-1", "x"], {}, "--grace: seconds must be between 0 and 1e9: '-1'"),
    (["--bogus", "x"], {}, "unknown option: '--bogus'"),
    (["-t"], {}, "-t needs a value"),
    (["--pgroup=1", "x"], {}, "--pgroup takes no value"),
    (["--delay", "TERM", "x"], {}, "--delay: expected SIGNAL:VALUE, got 'TERM'"),
    (["--to-all", "NOPE", "x"], {}, "--to-all: not a valid signal: 'NOPE'"),
    (["x"], {"INITAPP_GRACE": "nan"}, "INITAPP_GRACE: not a number of seconds: 'nan'"),
    (["x"], {"INITAPP_PGROUP": "maybe"}, "INITAPP_PGROUP: expected 1/0, true/false, yes/no or on/off, got 'maybe'"),
])
def test_bad_input_names_the_flag_and_value(argv, environ, message):
    with pytest.raises(cli.UsageError) as error:
        cli.parse(argv, environ)
    assert str(error.value) == message


def run(init_pyz, *argv, **environ):
    return subprocess.run([str(init_pyz)] + list(argv), env=dict(CLEAN_ENV, **environ),
                          capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)


def test_help_and_version(init_pyz):
    result = run(init_pyz, "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: init.pyz [OPTIONS] [--] COMMAND [ARG...]")
    for flag in ("--grace", "--delay", "--to-all", "--rewrite", "--pgroup", "INITAPP_GRACE"):
        assert flag in result.stdout
    for flag in ("--version", "-V"):
        result = run(init_pyz, flag)
        assert (result.returncode, result.stdout, result.stderr) == (0, "initapp 0.1.0\n", "")


@pytest.mark.parametrize("argv, environ", [
    (["--bogus", "true"], {}), ([], {}), (["--"], {}), (["-t", "x", "true"], {}),
    (["true"], {"INITAPP_VERBOSITY": "9"}),
])
def test_usage_errors_exit_2_with_one_line(init_pyz, argv, environ):
    result = run(init_pyz, *argv, **environ)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("[initapp] error: ")


def test_peer_variables_and_their_precedence():
    assert parse("x", TINI_KILL_PROCESS_GROUP="1").pgroup is True
    assert parse("x", TINI_KILL_PROCESS_GROUP="anything").pgroup is True  # as tini
    assert parse("x", TINI_KILL_PROCESS_GROUP="0").pgroup is False       # unlike tini
    assert parse("x", TINI_KILL_PROCESS_GROUP="1", INITAPP_PGROUP="0").pgroup is False
    assert parse("x", TINI_VERBOSITY="4").verbosity == 3
    assert parse("x", TINI_VERBOSITY="loud").verbosity == 1               # not a level: unset
    assert parse("-v", "x", TINI_VERBOSITY="0").verbosity == 1          # flags come last
    assert parse("x", DUMB_INIT_DEBUG="1").verbosity == 3
    assert parse("x", DUMB_INIT_DEBUG="yes").verbosity == 1              # only "1", as dumb-init
    assert parse("x", DUMB_INIT_SETSID="1").session is True
    assert parse("x", DUMB_INIT_SETSID="0").session is False
    assert parse("x", TINI_SUBREAPER="").subreaper is False


def test_session_mode_defaults_and_single_child_wins():
    config = parse("--session", "x")
    assert config.rewrites[signal.SIGTSTP] == signal.SIGSTOP
    assert parse("--session", "-r", "TSTP:USR1", "x").rewrites[signal.SIGTSTP] == signal.SIGUSR1
    config = parse("--session", "-g", "-c", "x")
    assert (config.session, config.pgroup, config.single_child) == (False, False, True)
    assert signal.SIGTSTP not in config.rewrites


def test_every_option_has_a_variable_or_is_an_action():
    for option in cli.OPTIONS:
        assert option.variable or option.kind == "action" or option.long == "--subreaper"
        if option.variable:
            assert option.variable == "INITAPP_" + option.long[2:].upper().replace("-", "_") \
                or option.variable in ("INITAPP_VERBOSITY", "INITAPP_SUCCESS_CODES",
                                    "INITAPP_STOP_SIGNALS")


def test_timeout_flag_and_variable():
    assert parse("x").timeout is None
    assert parse("--timeout", "1.5", "x").timeout == 1.5
    assert parse("x", INITAPP_TIMEOUT="30").timeout == 30.0
    assert parse("--timeout=2", "x", INITAPP_TIMEOUT="30").timeout == 2.0


@pytest.mark.parametrize("argv, message", [
    (["--timeout", "soon", "x"], "--timeout: not a number of seconds: 'soon'"),
    (["--timeout", "-5", "x"], "--timeout: seconds must be between 0 and 1e9: '-5'"),
    (["--timeout", "1_0", "x"], "--timeout: not a number of seconds: '1_0'"),
    (["-t", " 5", "x"], "-t: not a number of seconds: ' 5'"),
    (["--grace", "inf", "x"], "--grace: not a number of seconds: 'inf'"),
    (["-e", "256", "x"], "-e: not an exit code from 0 to 255: '256'"),
    (["-u", "a:", "x"], "-u: expected USER or USER:GROUP, got 'a:'"),
    (["--env", "NOEQUALS", "x"], "--env: expected NAME=VALUE, got 'NOEQUALS'"),
    (["--log-format", "xml", "x"], "--log-format: expected text or json, got 'xml'"),
    (["-p", "SIGNOPE", "x"], "-p: not a valid signal: 'SIGNOPE'"),
    (["-r", "TERM:NOPE", "x"], "-r: not a valid signal: 'NOPE'"),
])
def test_more_bad_values(argv, message):
    with pytest.raises(cli.UsageError) as error:
        cli.parse(argv, {})
    assert str(error.value) == message


def test_exclusive_modes_follow_precedence():
    # DUMB_INIT_SETSID=0 is -c, but a flag or an INITAPP_* variable set later wins.
    assert parse("x", DUMB_INIT_SETSID="0").single_child is True
    config = parse("--session", "x", DUMB_INIT_SETSID="0")
    assert (config.session, config.single_child) == (True, False)
    config = parse("x", DUMB_INIT_SETSID="0", INITAPP_PGROUP="1")
    assert (config.pgroup, config.single_child) == (True, False)
    config = parse("-g", "-c", "x")
    assert (config.pgroup, config.single_child) == (False, True)


@pytest.mark.parametrize("argv, message", [
    (["--stop-signal", "KILL"], "--stop-signal: SIGKILL cannot be caught"),
    (["--to-all", "STOP"], "--to-all: SIGSTOP cannot be caught"),
    (["--delay", "CHLD:1"], "--delay: SIGCHLD is initapp's own"),
    (["-r", "KILL:TERM"], "-r: SIGKILL cannot be caught"),
    (["--delay", "TERM:5", "--delay", "RTMIN+3:1"], "--delay: two delays for SIGTERM"),
])
def test_signals_initapp_cannot_act_on_are_usage_errors(argv, message):
    with pytest.raises(cli.UsageError, match="^" + re.escape(message)):
        parse(*argv, "x")


def test_realtime_names_are_the_engines():
    assert [signals.name(n) for n in (34, 37, 49, 50, 64)] == [
        "SIGRTMIN", "SIGRTMIN+3", "SIGRTMIN+15", "SIGRTMAX-14", "SIGRTMAX"]
    assert all(signals.parse(signals.name(n)) == n for n in range(34, 65))
