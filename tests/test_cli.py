"""The command line: unit tests of the parser, and the built init.pyz's answers."""

import json
import re
import signal
import subprocess

import pytest

from initapp import cli, signals
from support import CLEAN_ENV, cpythons

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


@pytest.mark.parametrize("text", ["32", "33"])
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
    "INITAPP_STOP_SIGNALS": ("TERM", "QUIT"), "INITAPP_FILE_ENV": ("DB_PASSWORD", "API_KEY"),
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
    versions = ", ".join(sorted(cpythons(), key=lambda version: int(version.split(".")[1])))
    for flag in ("--version", "-V"):
        result = run(init_pyz, flag)
        assert (result.returncode, result.stdout, result.stderr) == (
            0, "initapp 0.2.0\nbytecode for CPython %s; any other version runs the sources\n"
            % versions, "")


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


# -- usage errors in JSON (--log-format json, INITAPP_LOG_FORMAT=json) -----------------

@pytest.mark.parametrize("argv, environ, message", [
    (["--log-format", "json", "--bogus", "true"], {}, "unknown option: '--bogus'"),
    (["--grace", "x", "--log-format=json", "true"], {}, "--grace: not a number of seconds: 'x'"),
    (["--bogus", "--log-format", "json", "true"], {}, "unknown option: '--bogus'"),
    (["--bogus", "true"], {"INITAPP_LOG_FORMAT": "json"}, "unknown option: '--bogus'"),
    (["true"], {"INITAPP_LOG_FORMAT": "json", "INITAPP_GRACE": "x"},
     "INITAPP_GRACE: not a number of seconds: 'x'"),
    (["--log-format", "json"], {}, "no command given (usage: init.pyz [OPTIONS] [--] COMMAND [ARG...])"),
    (["--log-format", "json", "-t"], {}, "-t needs a value"),
    (["--log-format", "json", "--delay", "TERM:1", "--delay", "TERM:2", "true"], {},
     "--delay: two delays for SIGTERM"),
])
def test_usage_errors_honour_the_log_format(init_pyz, argv, environ, message):
    result = run(init_pyz, *argv, **environ)
    assert (result.returncode, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    record = json.loads(lines[0])
    assert (record["level"], record["event"], record["message"]) == ("error", "usage", message)


def test_usage_error_with_log_time_and_a_flag_that_wins_over_the_variable(init_pyz):
    result = run(init_pyz, "--log-time", "--log-format", "json", "-t", "x", "true",
                 INITAPP_LOG_FORMAT="text")
    record = json.loads(result.stderr)
    assert record["time"].endswith("Z") and record["message"] == "-t: not a number of seconds: 'x'"
    # The flag wins over the variable, and a bad format leaves the one before it.
    result = run(init_pyz, "--log-format", "text", "-t", "x", "true", INITAPP_LOG_FORMAT="json")
    assert result.stderr == "[initapp] error: -t: not a number of seconds: 'x'\n"
    result = run(init_pyz, "--log-format", "xml", "true", INITAPP_LOG_FORMAT="json")
    assert json.loads(result.stderr)["message"] == "--log-format: expected text or json, got 'xml'"


# -- INITAPP_ENV: one NAME=VALUE a line, split on \n only ------------------------------

@pytest.mark.parametrize("separator", ["\f", "\v", "\r", "\x1c", "\x1d", "\x1e", "\x85",
                                       "\u2028", "\u2029"])
def test_env_variable_splits_on_newlines_only(separator):
    value = "K=a%sB=b" % separator
    assert parse("x", INITAPP_ENV=value).env == [value]
    assert parse("x", INITAPP_ENV="MSG=hi%sthere\nC=3" % separator).env == [
        "MSG=hi%sthere" % separator, "C=3"]


def test_env_variable_line_ends_and_empty_lines():
    # A CRLF ends a line as LF does (the \r is not kept); empty lines are skipped.
    assert parse("x", INITAPP_ENV="A=1\r\nB=2\r\n").env == ["A=1", "B=2"]
    assert parse("x", INITAPP_ENV="\nA=1\n\nB= 2 \n").env == ["A=1", "B= 2 "]
    assert parse("x", INITAPP_ENV="A=1\r\rB=2").env == ["A=1\r\rB=2"]


# -- real-time signals: RTMIN+0..30 and RTMAX-0..30 only ---------------------------------

@pytest.mark.parametrize("text", ["RTMIN-20", "RTMAX-40", "RTMIN-1", "RTMAX+1", "RTMIN+31",
                                  "RTMAX-31", "SIGRTMIN-3", "rtmax-64"])
def test_realtime_offsets_out_of_range_are_refused(text):
    with pytest.raises(ValueError, match=r"^real-time signals are RTMIN\+0 to RTMIN\+30 and "
                                         r"RTMAX-0 to RTMAX-30: "):
        signals.parse(text)


def test_realtime_offsets_in_range():
    assert [signals.parse("RTMIN+%d" % n) for n in (0, 30)] == [34, 64]
    assert [signals.parse("RTMAX-%d" % n) for n in (0, 30)] == [64, 34]


# -- --delay and -r: one item per signal ------------------------------------------------

@pytest.mark.parametrize("argv, environ, message", [
    (["--delay", "TERM:5", "--delay", "TERM:6"], {}, "--delay: two delays for SIGTERM"),
    (["--delay", "TERM:5", "--delay", "TERM:5"], {}, "--delay: two delays for SIGTERM"),
    (["--delay", "TERM:6", "--delay", "RTMIN+3:5"], {},
     "--delay: two delays for SIGTERM (RTMIN+3, podman's 37, is SIGTERM)"),
    ([], {"INITAPP_DELAY": "TERM:5,RTMIN+3:6"},
     "INITAPP_DELAY: two delays for SIGTERM (RTMIN+3, podman's 37, is SIGTERM)"),
    ([], {"INITAPP_DELAY": "HUP:1, HUP:1"}, "INITAPP_DELAY: two delays for SIGHUP"),
    (["-r", "USR1:USR2", "-r", "USR1:HUP"], {}, "-r: two rewrites of SIGUSR1"),
    ([], {"INITAPP_REWRITE": "USR1:USR2,10:HUP"}, "INITAPP_REWRITE: two rewrites of SIGUSR1"),
])
def test_two_items_for_one_signal_are_a_usage_error(argv, environ, message):
    with pytest.raises(cli.UsageError) as error:
        cli.parse(argv + ["x"], environ)
    assert str(error.value) == message


def test_a_flag_replaces_the_variables_item_for_its_signal():
    config = parse("--delay", "TERM:6", "x", INITAPP_DELAY="RTMIN+3:5, HUP:1")
    assert config.delays == {signal.SIGTERM: 6.0, signal.SIGHUP: 1.0}
    config = parse("--delay", "RTMIN+3:6", "x", INITAPP_DELAY="TERM:5")
    assert config.delays == {signal.SIGTERM: 6.0}
    config = parse("-r", "USR1:HUP", "x", INITAPP_REWRITE="USR1:USR2,TERM:QUIT")
    assert (config.rewrites[signal.SIGUSR1], config.rewrites[signal.SIGTERM]) == (
        signal.SIGHUP, signal.SIGQUIT)
    # An explicit rewrite of 37 is its own item, beside TERM's.
    config = parse("-r", "TERM:QUIT", "-r", "RTMIN+3:USR1", "x")
    assert config.route(37) == (signal.SIGTERM, signal.SIGUSR1)


def test_flag_delay_over_variable_delay_runs(init_pyz):
    result = run(init_pyz, "--delay", "TERM:6", "true", INITAPP_DELAY="RTMIN+3:5")
    assert (result.returncode, result.stderr) == (0, "")


# -- variables: surrounding whitespace ignored; flags: as typed ------------------------

# A value for each option that takes one, and what it gives.
VALUE_SAMPLES = {
    "--log-format": ("json", "json"), "--grace": ("5", 5.0), "--timeout": ("1.5", 1.5),
    "--verbose": ("2", 2), "--parent-death-signal": ("HUP", signal.SIGHUP),
    "--user": ("root", "root"), "--workdir": ("/tmp", "/tmp"),
    "--stop-signal": ("QUIT", {signal.SIGQUIT}), "--rewrite": ("USR1:0", {signal.SIGUSR1: 0}),
    "--delay": ("HUP:1", {signal.SIGHUP: 1.0}), "--to-all": ("HUP", {signal.SIGHUP}),
    "--pre-stop": ("/app/drain --all", "/app/drain --all"),
    "--post-stop": ("/app/flush", "/app/flush"),
    "--success-code": ("143", {143}), "--file-env": ("TOKEN", ["TOKEN"]),
    "--pre-start": ("/docker-entrypoint.d", "/docker-entrypoint.d"),
}
SWITCHES = [o for o in cli.OPTIONS if o.kind == "switch" and o.variable]
PADDING = [" ", "\t", "\r\n", " \t\r\n "]


@pytest.mark.parametrize("padding", PADDING)
def test_every_variable_value_is_stripped(padding):
    for option in cli.OPTIONS:
        if option.long in VALUE_SAMPLES:
            text, value = VALUE_SAMPLES[option.long]
            config = parse("x", **{option.variable: padding + text + padding})
            assert getattr(config, option.attr) == value, option.variable
    for option in SWITCHES:
        config = parse("x", **{option.variable: padding + "yes" + padding})
        assert getattr(config, option.attr) is True, option.variable
    # Whitespace only is empty: unset.
    assert parse("x", INITAPP_GRACE=padding).grace == 8.0
    assert parse("x", INITAPP_DELAY=" TERM:5%s,%sHUP:1 " % (padding, padding)).delays == {
        signal.SIGTERM: 5.0, signal.SIGHUP: 1.0}


def test_every_value_option_has_a_sample():
    assert sorted(VALUE_SAMPLES) == sorted(
        o.long for o in cli.OPTIONS
        if o.variable and o.kind != "switch" and o.variable != "INITAPP_ENV")


@pytest.mark.parametrize("padding", [" ", "\t", "\n"])
def test_flag_values_are_taken_as_typed(padding):
    for option in cli.OPTIONS:
        if option.long not in VALUE_SAMPLES or not option.takes_value():
            continue
        text, value = VALUE_SAMPLES[option.long]
        assert getattr(parse(option.long, text, "x"), option.attr) == value
        if option.long in ("--user", "--workdir", "--pre-start", "--pre-stop", "--post-stop"):
            # Names and command lines: kept as typed, looked up before the start.
            assert getattr(parse(option.long, padding + text, "x"), option.attr) == padding + text
            continue
        with pytest.raises(cli.UsageError, match="^%s: " % option.long):
            cli.parse([option.long, padding + text, "x"], {})


def test_inside_an_item_no_whitespace():
    with pytest.raises(cli.UsageError, match="^INITAPP_DELAY: not a number of seconds: ' 5'$"):
        parse("x", INITAPP_DELAY="TERM: 5")


@pytest.mark.parametrize("environ, message", [
    ({"INITAPP_USER": "no-such-user-here"}, "INITAPP_USER: no such user: 'no-such-user-here'"),
    ({"INITAPP_USER": "0:99999999999999999999"},
     "INITAPP_USER: group id out of range: 99999999999999999999"),
    ({"INITAPP_WORKDIR": "/no/such/dir"}, "INITAPP_WORKDIR: not a directory: '/no/such/dir'"),
    ({"INITAPP_WORKDIR": " /no/such/dir "}, "INITAPP_WORKDIR: not a directory: '/no/such/dir'"),
])
def test_errors_name_the_variable_the_value_came_from(init_pyz, environ, message):
    result = run(init_pyz, "true", **environ)
    assert (result.returncode, result.stderr) == (2, "[initapp] error: %s\n" % message)
    flag = message.split(":")[0].replace("INITAPP_USER", "--user").replace(
        "INITAPP_WORKDIR", "--workdir")
    result = run(init_pyz, flag, list(environ.values())[0].strip(), "true")
    assert (result.returncode, result.stderr) == (
        2, "[initapp] error: %s\n" % message.replace(list(environ)[0], flag))


# -- what the user typed, as typed -------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["-s5", "x"], "unknown option: '-5' in '-s5'"),
    (["-gvq", "x"], "unknown option: '-q' in '-gvq'"),
    (["--grace", "\udcff", "x"], "--grace: not a number of seconds: '\\xff'"),
    (["--to-all", "H\udcfeUP", "x"], "--to-all: not a valid signal: 'H\\xfeUP'"),
    (["--bogus\udcff", "x"], "unknown option: '--bogus\\xff'"),
    (["--env", "\\udcff", "x"], "--env: expected NAME=VALUE, got '\\\\udcff'"),
    (["-t", "x" * 1000, "x"], "-t: not a number of seconds: '%s...'" % ("x" * 197)),
])
def test_usage_errors_show_what_was_typed(argv, message):
    with pytest.raises(cli.UsageError) as error:
        cli.parse(argv, {})
    assert str(error.value) == message


def test_odd_bytes_in_a_usage_error_read_as_everywhere_else(init_pyz):
    result = subprocess.run([str(init_pyz).encode(), b"--grace", b"\xff5", b"true"],
                            capture_output=True, timeout=20, env=CLEAN_ENV)
    assert (result.returncode, result.stderr) == (
        2, b"[initapp] error: --grace: not a number of seconds: '\\xff5'\n")
