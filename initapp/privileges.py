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
    GROUP is given), no supplementary groups, and HOME=/ as container engines do."""
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
    """In the child: drop to credentials. Raises OSError."""
    os.setgroups(credentials.groups)
    os.setgid(credentials.gid)
    os.setuid(credentials.uid)


def environment(credentials):
    """HOME and USER for the child, from the passwd entry when there is one."""
    changes = {"HOME": credentials.home}
    if credentials.name:
        changes["USER"] = credentials.name
    return changes
