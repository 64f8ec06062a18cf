"""Which worker gets a packet: classic BPF programs for a port's SO_REUSEPORT group.

Without a program the kernel hashes the 4-tuple, so a NAS that sends from one source
port lands on one worker, whatever the others are doing. A program attached to the group
(SO_ATTACH_REUSEPORT_CBPF, Linux 4.5+) sees the UDP payload, the RADIUS packet, and
returns the index of the group's socket that gets it; an index out of range (or a
program that could not run) leaves the kernel's hash.

- ``spread_by_identifier``: the RADIUS Identifier. Authentication: one NAS's requests
  spread over every worker; a retransmission (same Identifier) reaches the worker that
  holds its cached reply.
- ``spread_by_user_name``: a hash of the User-Name attribute. Accounting: the records of
  one subscriber (all their sessions) stay with one worker, whose quota snapshot of the
  account is then current (records of one account on two workers would each meet a stale
  snapshot and re-read), and a retransmission reaches the worker with its cached reply.
  A packet without User-Name (Accounting-On/Off) goes by the kernel's hash.
"""

from __future__ import annotations

import ctypes
import socket

SO_ATTACH_REUSEPORT_CBPF = 51  # Linux 4.5+

# classic BPF opcodes (linux/filter.h)
LD_B_ABS, LD_B_IND, LD_W_IND = 0x30, 0x50, 0x40
LD_MEM, LDX_IMM, LDX_MEM, ST, STX = 0x60, 0x01, 0x61, 0x02, 0x03
ADD_X, SUB_K, XOR_X, MUL_K, RSH_K, MOD_K = 0x0C, 0x14, 0xAC, 0x24, 0x74, 0x94
TAX = 0x07
JA, JEQ_K, JGE_K = 0x05, 0x15, 0x35
RET_A, RET_K = 0x16, 0x06

USER_NAME = 1
HEADER = 20
SCAN = 24  # attributes looked at before User-Name is given up (NASes put it near the front)
WORDS = 16  # the name's first 64 bytes are hashed (and its last word)
NOT_FOUND = 0xFFFFFFFF  # out of range: the kernel's hash decides
GOLDEN = 0x9E3779B1

Insn = tuple[int, int, int, int]
Item = tuple[int, int | str, int | str, int | str] | str  # a label, or an insn naming labels


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def identifier_program(workers: int) -> list[Insn]:
    """``ldb [1]; mod #workers; ret a``."""
    return [(LD_B_ABS, 0, 0, 1), (MOD_K, 0, 0, workers), (RET_A, 0, 0, 0)]


def user_name_program(workers: int) -> list[Insn]:
    """Walk the first ``SCAN`` attributes for User-Name (cBPF has no loops: unrolled), then
    hash the name: its first byte, every whole word of its first ``WORDS`` * 4 bytes and its
    last word (last byte if shorter), multiplied through, modulo ``workers``."""
    code: list[Item] = [(LDX_IMM, 0, 0, HEADER)]
    for _ in range(SCAN):
        code += [(LD_B_IND, 0, 0, 0), (JEQ_K, "found", 0, USER_NAME),
                 (LD_B_IND, 0, 0, 1), (JEQ_K, "give_up", 0, 0),  # length 0: malformed
                 (ADD_X, 0, 0, 0), (TAX, 0, 0, 0)]
    code += ["give_up", (RET_K, 0, 0, NOT_FOUND), "found",
             (STX, 0, 0, 3),                                     # M[3] = the attribute's offset
             (LD_B_IND, 0, 0, 1), (JGE_K, 0, "empty", 3),        # an empty name: the kernel's hash
             (SUB_K, 0, 0, 2), (ST, 0, 0, 0),                    # M[0] = the name's length
             (LD_B_IND, 0, 0, 2), (ST, 0, 0, 1)]                 # M[1] = hash, from the first byte
    for k in range(WORDS):
        code += [(LD_MEM, 0, 0, 0), (JGE_K, 0, "tail", 4 * k + 4),
                 (LD_W_IND, 0, 0, 2 + 4 * k), *_mix()]
    code += ["tail", (LD_MEM, 0, 0, 0), (JGE_K, 0, "short", 4),
             (LD_B_IND, 0, 0, 1), (ADD_X, 0, 0, 0), (SUB_K, 0, 0, 4), (TAX, 0, 0, 0),
             (LD_W_IND, 0, 0, 0), *_mix(), (JA, 0, 0, "done"),
             "short", (LD_B_IND, 0, 0, 1), (ADD_X, 0, 0, 0), (SUB_K, 0, 0, 1), (TAX, 0, 0, 0),
             (LD_B_IND, 0, 0, 0), *_mix(),
             "done", (LD_MEM, 0, 0, 1), (MUL_K, 0, 0, GOLDEN), (RSH_K, 0, 0, 16), (MOD_K, 0, 0, workers),
             (RET_A, 0, 0, 0), "empty", (RET_K, 0, 0, NOT_FOUND)]
    return _assemble(code)


def _mix() -> list[Item]:
    """M[1] = M[1] * GOLDEN ^ A; X back to the attribute's offset."""
    return [(ST, 0, 0, 2), (LD_MEM, 0, 0, 1), (MUL_K, 0, 0, GOLDEN), (LDX_MEM, 0, 0, 2), (XOR_X, 0, 0, 0),
            (ST, 0, 0, 1), (LDX_MEM, 0, 0, 3)]


def _assemble(code: list[Item]) -> list[Insn]:
    """Resolve the labels a jump names (in jt/jf, or k for JA) to forward offsets."""
    labels: dict[str, int] = {}
    pc = 0
    for item in code:
        if isinstance(item, str):
            labels[item] = pc
        else:
            pc += 1
    out: list[Insn] = []
    for item in code:
        if isinstance(item, str):
            continue
        op, jt, jf, k = item
        here = len(out) + 1
        rel = [labels[x] - here if isinstance(x, str) else x for x in (jt, jf, k)]  # JA jumps by k
        if not all(0 <= r <= 255 for r in rel[:2]) or rel[2] < 0:
            raise ValueError(f"jump out of range at {len(out)}: {item}")
        out.append((op, rel[0], rel[1], rel[2]))
    return out


def attach(sock: socket.socket, program: list[Insn]) -> bool:
    """Attach ``program`` to the socket's reuseport group; False where the kernel refuses."""
    insns = (_SockFilter * len(program))(*(_SockFilter(*insn) for insn in program))
    fprog = _SockFprog(len(program), insns)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, bytes(fprog))
    except OSError:
        return False
    return True


def spread_by_identifier(sock: socket.socket, workers: int) -> bool:
    return workers >= 2 and attach(sock, identifier_program(workers))


def spread_by_user_name(sock: socket.socket, workers: int) -> bool:
    return workers >= 2 and attach(sock, user_name_program(workers))


SPREADS = {"identifier": spread_by_identifier, "user_name": spread_by_user_name}
