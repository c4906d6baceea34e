"""The command line and environment variables, turned into a Config.

Precedence, lowest first: the peers' variables (TINI_*, DUMB_INIT_*), then
INITAPP_* variables, then flags. A flag's value is taken as typed; in a variable,
whitespace around the value and around each list item is ignored (env files and
YAML add it), and an empty value means unset. A switch variable takes
1/true/yes/on or 0/false/no/off; a list takes comma-separated items (INITAPP_ENV:
one NAME=VALUE a line, split on \n only and kept as is, since values may hold
commas and spaces). A list keyed by signal (--delay, -r) holds one item a signal:
a flag replaces the variable's item, two flags or two items of the variable are a
usage error.

A usage error names the flag as typed, or the variable, the value came from. The
whole command line is read even after one (only the first is reported), so that
--log-format and --log-time apply to it wherever they are."""

import os

from initapp import signals
from initapp.log import quoted
from initapp.defaults import (EXIT_TIMEOUT, GRACE_SECONDS, JOB_CONTROL_SIGNAL_NAMES,
                              MSG_EMPTY_ITEM, STOP_SIGNAL_NAMES, STOP_WITH_REFUSED, USAGE)


class UsageError(Exception):
    """A bad option or value; log_format and log_time: how to report it."""

    def __init__(self, message, log_format="text", log_time=False):
        super().__init__(message)
        self.log_format, self.log_time = log_format, log_time


# What a variable's value and each of its list items are stripped of.
WHITESPACE = " \t\n\r\f\v"


class Config:
    def __init__(self):
        self.action = "run"          # or "help", "version", "license"
        self.command = []
        self.verbosity = 1
        self.log_format = "text"
        self.log_time = False
        self.grace = GRACE_SECONDS
        self.timeout = None          # --timeout: seconds the main child may run
        self.pgroup = False
        self.session = False
        self.single_child = False
        self.delays = {}
        self.to_all = set()
        self.rewrites = {}
        self.success_codes = set()
        self.parent_death_signal = None
        self.warn_reap = False
        self.subreaper = False       # accepted for tini; initapp always is one when not PID 1
        self.user = None
        self.workdir = None
        self.env = []
        self.file_env = []           # --file-env: names whose value comes from NAME_FILE's file
        self.pre_start = None        # --pre-start: a directory of scripts, or one executable
        self.stop_signals = set()    # empty: the default set
        self.force_on_repeat = False
        self.pre_stop = None         # a COMMAND string run when the stop sequence begins
        self.post_stop = None        # ... and once the tree is gone, before the exit
        self.runs = []               # --run NAME=COMMAND items, and --procfile's FILE
        self.procfile = None
        self.restart = []            # per-process items, NAME=VALUE (procs.py reads them)
        self.may_exit = []
        self.stop_with = []
        self.ready = []
        self.stop_order = "parallel"
        self.log_prefix = True
        self.origin = {}             # attr: the flag (as typed) or variable it came from
        self.keyed = {}              # (attr, key): (from a flag, the signal as given)
        self.error = None            # the first usage error

    def several(self):
        """Whether an option of several processes is used: only then is procs.py
        imported (the one-process start pays nothing for it)."""
        return bool(self.runs or self.procfile or self.restart or self.may_exit
                    or self.stop_with or self.ready or "stop_order" in self.origin
                    or "log_prefix" in self.origin)

    def fail(self, message):
        if self.error is None:
            self.error = message

    def finish(self):
        """Defaults that depend on other options; signals keyed by their canonical
        number (podman's 37 is SIGTERM) so that every lookup agrees."""
        if self.single_child:
            self.pgroup = self.session = False
        if self.session:
            # dumb-init's job control: a stop request stops the whole group.
            for name in JOB_CONTROL_SIGNAL_NAMES:
                self.rewrites.setdefault(signals.parse(name), signals.SIGSTOP)
        names = self.stop_signals or {signals.parse(name) for name in STOP_SIGNAL_NAMES}
        self.stop_signals = frozenset(canonical(signo) for signo in names)
        self.to_all = frozenset(canonical(signo) for signo in self.to_all)
        return self

    def route(self, received):
        """(key, sent): the canonical signal every option is looked up by, and the
        signal to deliver (0: drop it). An explicit rewrite of 37 wins over the alias."""
        key = canonical(received)
        sent = self.rewrites.get(received if received in self.rewrites else key, key)
        return key, sent


def canonical(signo):
    """podman's stop signal (37 on every libc) is an alias of SIGTERM."""
    return signals.SIGTERM if signo == signals.PODMAN_STOP else signo


# -- value parsers: each raises ValueError with the reason ------------------------

def seconds(text):
    try:
        if text.strip("0123456789.eE+-"):  # float() would take "1_0", " 5" and "inf" too
            raise ValueError
        value = float(text)
    except ValueError:
        raise ValueError("not a number of seconds: %s" % quoted(text)) from None
    if not 0 <= value < 1e9:
        raise ValueError("seconds must be between 0 and 1e9: %s" % quoted(text))
    return value


def forwardable(text):
    """A signal initapp can receive and forward (for the options keyed by one)."""
    signo = signals.parse(text)
    if signo in (signals.SIGKILL, signals.SIGSTOP):
        raise ValueError("%s cannot be caught, so initapp never receives it: %s"
                         % (signals.name(signo), quoted(text)))
    if signo == signals.SIGCHLD:
        raise ValueError("SIGCHLD is initapp's own (it is never forwarded): %s" % quoted(text))
    return signo


def _pair(text, right_parser):
    left, sep, right = text.partition(":")
    if not sep:
        raise ValueError("expected SIGNAL:VALUE, got %s" % quoted(text))
    return forwardable(left), right_parser(right)


def rewrite(text):
    return _pair(text, lambda right: 0 if right == "0" else signals.parse(right))


def delay(text):
    return _pair(text, seconds)


def _number(text):
    """A plain decimal number (no signs, spaces or non-ASCII digits), or None."""
    return int(text) if text.isascii() and text.isdigit() else None


def exit_code(text):
    if _number(text) is None or int(text) > 255:
        raise ValueError("not an exit code from 0 to 255: %s" % quoted(text))
    return int(text)


def verbosity(text):
    if _number(text) is None or int(text) > 3:
        raise ValueError("expected 0 to 3, got %s" % quoted(text))
    return int(text)


def switch(text):
    word = text.lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off, got %s" % quoted(text))


def log_format(text):
    if text not in ("text", "json"):
        raise ValueError("expected text or json, got %s" % quoted(text))
    return text


def user(text):
    name, _, group = text.partition(":")
    if not name or (_ and not group):
        raise ValueError("expected USER or USER:GROUP, got %s" % quoted(text))
    return text


def assignment(text):
    name, sep, _ = text.partition("=")
    if not sep or not name:
        raise ValueError("expected NAME=VALUE, got %s" % quoted(text))
    return text


def command_text(text):
    """A COMMAND string for a hook: run without a shell when made of words only."""
    from initapp import command

    try:
        command.argv(text)
    except ValueError as error:
        raise ValueError("%s: %s" % (error, quoted(text))) from None
    return text


def run_item(text):
    """--run NAME=COMMAND: the name checked here, the command as a hook's."""
    name, sep, rest = text.partition("=")
    process_name(name)
    if not sep:
        raise ValueError("expected NAME=COMMAND, got %s" % quoted(text))
    command_text(rest)
    return text


def process_name(text):
    """A process's NAME: letters, digits, _ and - (the Procfile's names)."""
    if not text or not all(char.isascii() and (char.isalnum() or char in "_-") for char in text):
        raise ValueError("not a process name (letters, digits, _ and -): %s" % quoted(text))
    return text


def _keyed(text, right):
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError("expected NAME=VALUE, got %s" % quoted(text))
    return process_name(name), right(value)


def restart_item(text):
    def policy(value):
        if value not in ("no", "on-failure", "always"):
            raise ValueError("expected no, on-failure or always, got %s" % quoted(value))
        return value
    return _keyed(text, policy)


def stop_with_item(text):
    def ending(value):
        signo = signals.parse(value)
        if signals.name(signo) in STOP_WITH_REFUSED:
            # It suspends or continues a process: it ends none, and the stop
            # continues a stopped process at once anyway.
            raise ValueError("%s does not end a process: %s" % (signals.name(signo),
                                                               quoted(value)))
        return signo
    return _keyed(text, ending)


def ready_item(text):
    from initapp import checks

    def check(value):
        try:
            return checks.parse(value)
        except ValueError as error:
            said = str(error)   # most of checks.parse's messages quote the value already
            if quoted(value) in said:
                raise
            raise ValueError("%s: %s" % (said, quoted(value))) from None
    return _keyed(text, check)


def stop_order(text):
    if text not in ("parallel", "reverse"):
        raise ValueError("expected parallel or reverse, got %s" % quoted(text))
    return text


def directory(text):
    if not text:
        raise ValueError("empty directory")
    return text


def path(text):
    if not text:
        raise ValueError("empty path")
    return text


def variable_name(text):
    """An environment variable's name: no "=", no space, no control character."""
    if not text or "=" in text or any(char <= " " or char == "\x7f" for char in text):
        raise ValueError("not a variable name: %s" % quoted(text))
    return text


# -- the option table ---------------------------------------------------------------

class Option:
    """kind: 'switch' (no value), 'count' (-v), 'action' (-h), 'value' or 'list'.
    A list of pairs keyed by signal names its items: "two delays for SIGTERM"."""

    def __init__(self, short, long, kind, attr, help, parse=None, variable=None, metavar=None,
                 items=None):
        self.short, self.long, self.kind, self.attr = short, long, kind, attr
        self.help, self.parse, self.variable, self.metavar = help, parse, variable, metavar
        self.items = items

    def takes_value(self):
        return self.kind in ("value", "list")

    def apply(self, config, value, where):
        """Raises UsageError for a second item of one signal."""
        if self.kind == "action":
            config.action = self.attr
        elif self.kind == "count":
            config.verbosity = min(config.verbosity + 1, 3) if value is True else value
        elif self.kind == "list":
            target = getattr(config, self.attr)
            if isinstance(target, dict):
                self._set_item(config, target, value, where)
            elif isinstance(target, set):
                target.add(value)
            else:
                target.append(value)
            config.origin[self.attr] = where   # for messages naming what was given
        else:
            setattr(config, self.attr, value)
            config.origin[self.attr] = where
            if value is True:
                # Modes that exclude each other: the one set last (the higher
                # precedence: flag over variable over peer variable) wins.
                for other in EXCLUSIVE.get(self.attr, ()):
                    setattr(config, other, False)

    def _set_item(self, config, target, value, where):
        # --delay is keyed by the canonical signal (37 is SIGTERM), -r by the signal as
        # received (an explicit rewrite of 37 is its own).
        signo, setting = value
        key = canonical(signo) if self.attr == "delays" else signo
        flag = where.startswith("-")
        before = config.keyed.get((self.attr, key))
        if before is not None and before[0] == flag:
            alias = signals.PODMAN_STOP in (signo, before[1]) and key == signals.SIGTERM
            raise UsageError("%s: two %s %s%s" % (
                where, self.items, signals.name(key),
                " (RTMIN+3, podman's 37, is SIGTERM)" if alias else ""))
        config.keyed[self.attr, key] = (flag, signo)
        target[key] = setting   # a flag's item replaces the variable's


EXCLUSIVE = {"single_child": ("session", "pgroup"), "session": ("single_child",),
             "pgroup": ("single_child",)}


OPTIONS = (
    Option("-h", "--help", "action", "help", "show this help and exit"),
    Option("-V", "--version", "action", "version", "show the version and exit"),
    Option("-l", "--license", "action", "license", "show the license and exit"),
    Option("-v", "--verbose", "count", "verbosity",
           "more messages on stderr; repeat for more (variable: 0 errors .. 3 debug)",
           verbosity, "INITAPP_VERBOSITY"),
    Option(None, "--log-format", "value", "log_format", "text (default) or json: one object a line",
           log_format, "INITAPP_LOG_FORMAT", "FORMAT"),
    Option(None, "--log-time", "switch", "log_time", "put a UTC timestamp on every message",
           switch, "INITAPP_LOG_TIME"),
    Option("-t", "--grace", "value", "grace",
           "deadline for the whole tree to exit once stopping (default %g)" % GRACE_SECONDS,
           seconds, "INITAPP_GRACE", "SECONDS"),
    Option(None, "--timeout", "value", "timeout",
           "when the main child has run SECONDS, stop the tree as a stop signal would, "
           "then exit %d (0: no limit)" % EXIT_TIMEOUT, seconds, "INITAPP_TIMEOUT", "SECONDS"),
    Option("-g", "--pgroup", "switch", "pgroup",
           "forward signals to the child's process group, not only the child",
           switch, "INITAPP_PGROUP"),
    Option(None, "--session", "switch", "session",
           "dumb-init's mode: the child leads a new session, signals go to its group, "
           "TSTP/TTIN/TTOU stop the group and initapp", switch, "INITAPP_SESSION"),
    Option("-c", "--single-child", "switch", "single_child",
           "only the direct child: signals go to it alone; when it exits, initapp exits "
           "without signalling or waiting for the rest", switch, "INITAPP_SINGLE_CHILD"),
    Option(None, "--stop-signal", "list", "stop_signals",
           "a signal that starts the stop sequence (default TERM; podman's RTMIN+3 "
           "counts as TERM); repeatable, replaces the default", forwardable,
           "INITAPP_STOP_SIGNALS", "SIGNAL"),
    Option(None, "--force-on-repeat", "switch", "force_on_repeat",
           "a stop signal repeated during the grace period kills the tree at once",
           switch, "INITAPP_FORCE_ON_REPEAT"),
    Option("-r", "--rewrite", "list", "rewrites",
           "forward the first signal as the second; 0 drops it",
           rewrite, "INITAPP_REWRITE", "SIGNAL:SIGNAL", "rewrites of"),
    Option(None, "--delay", "list", "delays",
           "forward SIGNAL only after SECONDS (e.g. TERM:5 to let a load balancer drain)",
           delay, "INITAPP_DELAY", "SIGNAL:SECONDS", "delays for"),
    Option(None, "--to-all", "list", "to_all",
           "forward SIGNAL to every process of the tree (e.g. HUP to reload daemons)",
           forwardable, "INITAPP_TO_ALL", "SIGNAL"),
    Option("-e", "--success-code", "list", "success_codes",
           "exit 0 when the child exits with CODE (e.g. 143 for a JVM); repeatable",
           exit_code, "INITAPP_SUCCESS_CODES", "CODE"),
    Option("-p", "--parent-death-signal", "value", "parent_death_signal",
           "have the kernel send SIGNAL to initapp when its parent dies",
           signals.parse, "INITAPP_PARENT_DEATH_SIGNAL", "SIGNAL"),
    Option("-w", "--warn-reap", "switch", "warn_reap",
           "warn for every reaped process that is not the main child", switch,
           "INITAPP_WARN_REAP"),
    Option("-u", "--user", "value", "user",
           "run the child as USER (and GROUP), names or ids, with USER's groups",
           user, "INITAPP_USER", "USER[:GROUP]"),
    Option(None, "--workdir", "value", "workdir", "run the child in DIR",
           directory, "INITAPP_WORKDIR", "DIR"),
    Option(None, "--env", "list", "env", "set NAME=VALUE in the child's environment",
           assignment, "INITAPP_ENV", "NAME=VALUE"),
    Option(None, "--pre-stop", "value", "pre_stop",
           "run COMMAND when the stop sequence begins; the child gets its stop signal when "
           "COMMAND ends, or at half the grace period", command_text, "INITAPP_PRE_STOP",
           "COMMAND"),
    Option(None, "--post-stop", "value", "post_stop",
           "run COMMAND once the tree is gone, before exiting (INITAPP_EXIT_CODE and "
           "INITAPP_EXIT_REASON set), within the deadline or the grace period",
           command_text, "INITAPP_POST_STOP", "COMMAND"),
    Option(None, "--file-env", "list", "file_env",
           "set NAME to the content of the file $NAME_FILE names, and remove NAME_FILE "
           "(docker-library's file_env); repeatable", variable_name, "INITAPP_FILE_ENV", "NAME"),
    Option(None, "--pre-start", "value", "pre_start",
           "run PATH (an executable, or each executable file of a directory, in name order) "
           "before COMMAND; one that fails ends the start", path, "INITAPP_PRE_START", "PATH"),
    Option(None, "--run", "list", "runs",
           "run COMMAND as the process NAME, beside the others; repeatable",
           run_item, "INITAPP_RUN", "NAME=COMMAND"),
    Option(None, "--procfile", "value", "procfile",
           "run the processes of FILE's 'NAME: COMMAND' lines (Heroku's Procfile)",
           path, "INITAPP_PROCFILE", "FILE"),
    Option(None, "--restart", "list", "restart",
           "restart NAME when it ends: no (default), on-failure or always; backing off "
           "1s to 30s, failed for good after 5 ends in 60s", restart_item, "INITAPP_RESTART",
           "NAME=POLICY"),
    Option(None, "--may-exit", "list", "may_exit",
           "NAME's exit with 0 ends only itself, not the container", process_name,
           "INITAPP_MAY_EXIT", "NAME"),
    Option(None, "--stop-with", "list", "stop_with",
           "the signal NAME gets when the stop sequence begins (e.g. php=QUIT)",
           stop_with_item, "INITAPP_STOP_WITH", "NAME=SIGNAL"),
    Option(None, "--ready", "list", "ready",
           "NAME is ready when CHECK passes (tcp:PORT, http://..., file:PATH, exec:COMMAND); "
           "the processes listed after it start then", ready_item, "INITAPP_READY",
           "NAME=CHECK"),
    Option(None, "--stop-order", "value", "stop_order",
           "parallel (default), or reverse: a process is stopped once those listed after "
           "it have exited (at the latest at half the grace period)", stop_order,
           "INITAPP_STOP_ORDER", "ORDER"),
    Option(None, "--log-prefix", "value", "log_prefix",
           "on (default): prefix each line of several processes with 'NAME | '; off: they "
           "write to initapp's stdout and stderr directly", switch, "INITAPP_LOG_PREFIX",
           "on|off"),
    Option("-s", "--subreaper", "switch", "subreaper",
           "accepted for tini: initapp always becomes a subreaper when not PID 1", switch),
)

_BY_FLAG = {flag: option for option in OPTIONS for flag in (option.short, option.long) if flag}


def _tini_switch(text):
    # tini switches on any value, even "0"; initapp switches off on 0/false/no/off.
    return text.lower() not in ("0", "false", "no", "off")


# The peers' variables: (variable, option's long name, value from text or None to
# skip), each given its value stripped as an INITAPP_* variable's.
PEER_VARIABLES = (
    ("TINI_SUBREAPER", "--subreaper", lambda text: None),
    ("TINI_KILL_PROCESS_GROUP", "--pgroup", _tini_switch),
    ("TINI_VERBOSITY", "--verbose",
     lambda text: min(_number(text), 3) if _number(text) is not None else None),
    # dumb-init: 1 is its default (setsid) mode, 0 its -c.
    ("DUMB_INIT_SETSID", "--session", lambda text: True if text != "0" else None),
    ("DUMB_INIT_SETSID", "--single-child", lambda text: True if text == "0" else None),
    ("DUMB_INIT_DEBUG", "--verbose", lambda text: 3 if text == "1" else None),
)


def usage():
    lines = []
    for option in OPTIONS:
        flag = ", ".join(part for part in (option.short, option.long) if part)
        if option.metavar:
            flag += " " + option.metavar
        lines.append("  %s\n      %s%s" % (flag, option.help,
                                            " [%s]" % option.variable if option.variable else ""))
    return USAGE.format(options="\n".join(lines) + "\n")


def _set(config, option, text, where):
    """Convert text for option and apply it; a bad value is the config's error."""
    try:
        option.apply(config, option.parse(text), where)
    except ValueError as error:
        config.fail("%s: %s" % (where, error))
    except UsageError as error:
        config.fail(str(error))


def env_lines(text):
    """INITAPP_ENV's items: one a line, split on \\n only (other line breaks are part
    of a value); a CRLF ends a line too, and empty lines are skipped."""
    lines = (line[:-1] if line.endswith("\r") else line for line in text.split("\n"))
    return [line for line in lines if line]


def _apply_environment(config, environ):
    for variable, long, parse in PEER_VARIABLES:
        text = environ.get(variable, "").strip(WHITESPACE)
        if text:
            value = parse(text)
            if value is not None and long != "--subreaper":
                _BY_FLAG[long].apply(config, value, variable)
    for option in OPTIONS:
        if not option.variable:
            continue
        text = environ.get(option.variable, "")
        if option.attr == "env":
            items = env_lines(text)
        elif option.attr == "runs":   # one a line, each stripped as any item
            items = [line.strip(WHITESPACE) for line in env_lines(text)
                     if line.strip(WHITESPACE)]
        else:
            text = text.strip(WHITESPACE)
            if not text:
                continue
            items = [text] if option.kind != "list" else \
                [item.strip(WHITESPACE) for item in text.split(",")]
            if "" in items:   # a comma too many: a usage error, for every list alike
                config.fail(MSG_EMPTY_ITEM.format(where=option.variable, value=quoted(text)))
                continue
        for item in items:
            _set(config, option, item, option.variable)


def _apply_flags(config, argv):
    """Options up to the first word that is not one; the rest is the command."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            return argv[index + 1:]
        if not word.startswith("-") or word == "-":
            return argv[index:]
        index += 1
        if word.startswith("--"):
            flag, equals, inline = word.partition("=")
            option = _BY_FLAG.get(flag)
            if option is None:
                config.fail("unknown option: %s" % quoted(word))
            elif option.takes_value():
                if not equals:
                    if index == len(argv):
                        config.fail("%s needs a value" % flag)
                        return []
                    inline, index = argv[index], index + 1
                _set(config, option, inline, flag)
            elif equals:
                config.fail("%s takes no value" % flag)
            else:
                option.apply(config, True, flag)
            continue
        # Short options, grouped or not: -g, -gv, -t5, -gt 5.
        for position in range(1, len(word)):
            flag = "-" + word[position]
            option = _BY_FLAG.get(flag)
            if option is None:
                config.fail("unknown option: %s%s" % (
                    quoted(flag), " in %s" % quoted(word) if len(word) > 2 else ""))
                break
            if option.takes_value():
                inline = word[position + 1:]
                if not inline:
                    if index == len(argv):
                        config.fail("%s needs a value" % flag)
                        return []
                    inline, index = argv[index], index + 1
                _set(config, option, inline, flag)
                break
            option.apply(config, True, flag)
    return []


def parse(argv, environ=os.environ):
    """A Config from the arguments after the program name. Raises UsageError for
    the first thing wrong, read to the end first so that it carries the log format."""
    config = Config()
    _apply_environment(config, environ)
    config.command = _apply_flags(config, list(argv))
    if config.error is not None:
        raise UsageError(config.error, config.log_format, config.log_time)
    return config.finish()
