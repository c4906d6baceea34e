"""The command line and INITAPP_* environment variables, turned into a Config.

A flag wins over its variable. For variables, an empty value means unset; a
switch takes 1/true/yes/on or 0/false/no/off; a list takes comma-separated items."""

import os

from initapp import signals
from initapp.defaults import DEFAULT_REWRITES, GRACE_SECONDS, STOP_SIGNAL_NAMES, USAGE


class UsageError(Exception):
    pass


class Config:
    def __init__(self):
        self.command = []
        self.verbosity = 1
        self.grace = GRACE_SECONDS
        self.pgroup = False
        self.delays = {}
        self.to_all = set()
        self.rewrites = {signals.parse(k): signals.parse(v) for k, v in DEFAULT_REWRITES.items()}
        self.stop_signals = frozenset(signals.parse(name) for name in STOP_SIGNAL_NAMES)
        self.action = "run"  # or "help", "version"


# -- value parsers: each raises ValueError with the reason ------------------------

def seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number of seconds: %r" % text) from None
    if not 0 <= value < 1e9:
        raise ValueError("seconds must be between 0 and 1e9: %r" % text)
    return value


def signal_pair(text, second=signals.parse):
    left, sep, right = text.partition(":")
    if not sep:
        raise ValueError("expected SIGNAL:VALUE, got %r" % text)
    return signals.parse(left), second(right)


def rewrite(text):
    return signal_pair(text, lambda right: 0 if right.strip() == "0" else signals.parse(right))


def delay(text):
    return signal_pair(text, seconds)


def verbosity(text):
    if not text.isdigit() or int(text) > 3:
        raise ValueError("expected 0 to 3, got %r" % text)
    return int(text)


def switch(text):
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off, got %r" % text)


# -- the option table ---------------------------------------------------------------
# (short, long, variable, metavar, apply(config, value), help)

def _set(attr):
    return lambda config, value: setattr(config, attr, value)


def _add_pair(attr):
    return lambda config, pair: getattr(config, attr).__setitem__(*pair)


OPTIONS = (
    ("-h", "--help", None, None, lambda c, v: setattr(c, "action", "help"),
     "show this help and exit"),
    ("-V", "--version", None, None, lambda c, v: setattr(c, "action", "version"),
     "show the version and exit"),
    ("-v", "--verbose", "INITAPP_VERBOSITY", None,
     lambda c, v: setattr(c, "verbosity", min(c.verbosity + 1, 3) if v is True else v),
     "more messages on stderr; repeat for more (variable: 0 errors .. 3 debug)"),
    ("-g", "--pgroup", "INITAPP_PGROUP", None, _set("pgroup"),
     "forward signals to the child's process group, not only the child"),
    ("-t", "--grace", "INITAPP_GRACE", "SECONDS", _set("grace"),
     "deadline for the whole tree to exit once stopping (default %g)" % GRACE_SECONDS),
    (None, "--delay", "INITAPP_DELAY", "SIGNAL:SECONDS", _add_pair("delays"),
     "forward SIGNAL only after SECONDS (e.g. TERM:5 to let a load balancer drain)"),
    (None, "--to-all", "INITAPP_TO_ALL", "SIGNAL", lambda c, v: c.to_all.add(v),
     "forward SIGNAL to every process of the tree (e.g. HUP to reload daemons)"),
    ("-r", "--rewrite", "INITAPP_REWRITE", "SIGNAL:SIGNAL", _add_pair("rewrites"),
     "forward the first signal as the second; 0 drops it (default RTMIN+3:TERM)"),
)

PARSERS = {"--grace": seconds, "--delay": delay, "--to-all": signals.parse,
           "--rewrite": rewrite, "--verbose": verbosity, "--pgroup": switch}
LISTS = ("--delay", "--to-all", "--rewrite")


def takes_value(long):
    return long in PARSERS and long not in ("--verbose", "--pgroup")


def usage():
    lines = []
    for short, long, variable, metavar, _, text in OPTIONS:
        flag = ", ".join(part for part in (short, long) if part)
        if metavar:
            flag += " " + metavar
        lines.append("  %-28s %s%s" % (flag, text, " [%s]" % variable if variable else ""))
    return USAGE.format(options="\n".join(lines) + "\n")


def _convert(long, text, where):
    try:
        return PARSERS[long](text)
    except ValueError as error:
        raise UsageError("%s: %s" % (where, error)) from None


def _apply_environment(config, environ):
    for _, long, variable, _, apply, _ in OPTIONS:
        text = environ.get(variable) if variable else None
        if not text:
            continue
        items = text.split(",") if long in LISTS else [text]
        for item in items:
            value = _convert(long, item, variable)
            if long == "--pgroup" and value is False:
                continue
            apply(config, value)


_BY_FLAG = {}
for _option in OPTIONS:
    for _flag in _option[:2]:
        if _flag:
            _BY_FLAG[_flag] = _option


def _apply_flags(config, argv):
    """Options up to the first word that is not one; the rest is the command."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            return argv[index + 1:]
        if not word.startswith("-") or word == "-":
            return argv[index:]
        flag, inline = word, None
        if word.startswith("--") and "=" in word:
            flag, _, inline = word.partition("=")
        elif not word.startswith("--") and len(word) > 2:
            flag, inline = word[:2], word[2:]
        option = _BY_FLAG.get(flag)
        if option is None:
            raise UsageError("unknown option: %s" % word)
        long, apply = option[1], option[4]
        if takes_value(long):
            if inline is None:
                index += 1
                if index == len(argv):
                    raise UsageError("%s needs a value" % flag)
                inline = argv[index]
            apply(config, _convert(long, inline, flag))
        elif inline is not None and word.startswith("--"):
            raise UsageError("%s takes no value" % flag)
        else:
            apply(config, True)
            if inline:  # grouped short switches: -gv
                argv = argv[:index + 1] + ["-" + inline] + argv[index + 1:]
        index += 1
    return []


def parse(argv, environ=os.environ):
    """A Config from the arguments after the program name. Raises UsageError."""
    config = Config()
    _apply_environment(config, environ)
    config.command = _apply_flags(config, list(argv))
    return config
