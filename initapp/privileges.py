"""--user: who the child runs as, resolved before the fork so a bad name is a
usage error, and applied in the child in the only safe order: supplementary
groups, then the group, then the user (after setuid nothing else is allowed)."""

import os

from initapp.log import quoted


MAX_ID = 2 ** 32 - 2  # (uid_t)-1 means "unchanged" to the kernel


class Credentials:
    def __init__(self, uid, gid, groups, name, home):
        self.uid, self.gid, self.groups, self.name, self.home = uid, gid, groups, name, home


def resolve(spec):
    """USER[:GROUP], names or ids, to Credentials. Raises ValueError.

    A numeric user without a passwd entry gets its own number as group (unless a
    GROUP is given), no supplementary groups, HOME=/ as container engines do, and
    no name (see environment)."""
    import grp
    import pwd

    user, _, group = spec.partition(":")
    entry = _lookup(pwd.getpwnam, pwd.getpwuid, user, "user")
    uid = entry.pw_uid if entry else int(user)
    if group:
        group_entry = _lookup(grp.getgrnam, grp.getgrgid, group, "group")
        gid = group_entry.gr_gid if group_entry else int(group)
    else:
        gid = entry.pw_gid if entry else uid
    for number, what in ((uid, "user"), (gid, "group")):
        if number > MAX_ID:
            raise ValueError("%s id out of range: %d" % (what, number))
    if entry:
        groups = sorted(set(os.getgrouplist(entry.pw_name, gid)))
        return Credentials(uid, gid, groups, entry.pw_name, entry.pw_dir)
    return Credentials(uid, gid, [gid], None, "/")


def _lookup(by_name, by_id, text, what):
    numeric = text.isascii() and text.isdigit()
    try:
        return by_id(int(text)) if numeric else by_name(text)
    except (KeyError, OverflowError):  # grp: "gid is greater than maximum"
        if numeric:
            return None   # the caller's range check names it
        raise ValueError("no such %s: %s" % (what, quoted(text))) from None


def apply(credentials):
    """In the child: drop to credentials. Raises OSError.

    Only a real change may fail: a process that is the user already (uid 65534
    running -u nobody) has no right to set its groups, and needs none when they
    grant the same (they differ at most by the group itself). The real, effective
    and saved ids all change, as setuid does for root; without the right to, the
    kernel allows only ids the process already holds."""
    uid, gid = credentials.uid, credentials.gid
    try:
        os.setgroups(credentials.groups)
    except PermissionError:
        if set(os.getgroups()) | {gid} != set(credentials.groups) | {gid}:
            raise
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


# Variables that name the user: a user without a passwd entry has no name, so the
# ones initapp was given (naming whoever started it) are taken away, not kept.
NAME_VARIABLES = ("USER", "LOGNAME")


def environment(credentials):
    """HOME, USER and LOGNAME for the child, from the passwd entry when there is
    one; without one, HOME=/ and no USER or LOGNAME (None: removed)."""
    changes = {"HOME": credentials.home}
    for variable in NAME_VARIABLES:
        changes[variable] = credentials.name
    return changes
