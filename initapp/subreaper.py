"""Becoming a child subreaper when the init is not PID 1 (under docker-init, a
pod's pause process, a shell), so orphans of the workload are re-parented to it
rather than to the real PID 1, which may not reap them."""

from initapp.prctl import PR_SET_CHILD_SUBREAPER, prctl


def register():
    """Make this process a child subreaper. Returns None, or the error as text."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)
