"""A seccomp filter that makes the kernel refuse one prctl option with EPERM, as
some sandboxes refuse PR_SET_CHILD_SUBREAPER: the real refusal, not a fake one.

refuse_prctl(option) returns a function for Popen's preexec_fn; the filter holds
for the process and everything it starts."""

import ctypes
import os
import struct

PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
# (audit architecture, prctl's system call number)
ARCHES = {"x86_64": (0xC000003E, 157), "aarch64": (0xC00000B7, 167)}

# Classic BPF over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}.
LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06


def supported():
    return os.uname().machine in ARCHES


def _program(option):
    arch, nr = ARCHES[os.uname().machine]
    # Jump offsets count from the next instruction; 7 is ALLOW, 6 is ERRNO.
    return [
        (LD_W_ABS, 0, 0, 4),            # 0: arch
        (JEQ_K, 0, 5, arch),            # 1: another architecture -> allow
        (LD_W_ABS, 0, 0, 0),            # 2: system call number
        (JEQ_K, 0, 3, nr),              # 3: not prctl -> allow
        (LD_W_ABS, 0, 0, 16),           # 4: args[0], low half (little-endian)
        (JEQ_K, 0, 1, option),          # 5: another option -> allow
        (RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),   # 6
        (RET_K, 0, 0, SECCOMP_RET_ALLOW),           # 7
    ]


def refuse_prctl(option):
    """A preexec_fn installing the filter (built here, in the parent)."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in _program(option))
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HxxxxxxP", len(code) // 8, ctypes.addressof(buffer))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4

    def install():
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
                libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                           ctypes.addressof(fprog_buffer), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot install the seccomp filter")

    install.buffers = (buffer, fprog_buffer)  # alive as long as the function
    return install
