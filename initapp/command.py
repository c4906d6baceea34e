"""A COMMAND string (a hook's): words only run directly, shell syntax under sh -c.
(Placeholder until the checks module's command rules land.)"""

SHELL = "/bin/sh"
_SYNTAX = set("|&;<>()$`*?[\n")


def argv(text):
    if not text.strip():
        raise ValueError("empty command")
    if _SYNTAX & set(text):
        return [SHELL, "-c", text]
    import shlex

    return shlex.split(text)
