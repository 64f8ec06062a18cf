"""Arbitrary bytes never raise anything but the codec's own error (>= 100,000 cases).

A fast loop over random and mutated packets (seeded, reproducible), plus a smaller
hypothesis run that shrinks whatever it finds.
"""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.radius import attributes as av
from protocols.radius import codec
from protocols.radius.dictionary import load_dictionary
from protocols.radius.errors import RadiusError
from protocols.radius.packet import Attr

SECRET = b"testing123"
DICT = load_dictionary()
VECTORS = tomllib.loads((Path(__file__).parent / "vectors" / "radclient.toml").read_text())
SEEDS = [bytes.fromhex(v["hex"]) for v in VECTORS.values()]


def exercise(data: bytes) -> None:
    """Everything a server (and a client) does with an untrusted datagram."""
    try:
        codec.decode_reply(data, SECRET, bytes(16))
    except RadiusError:
        pass
    try:
        packet = codec.decode_request(data, SECRET)
    except RadiusError:
        return
    for key, raw in packet.attributes:
        try:
            DICT.decode_attr(key, raw, secret=SECRET, authenticator=packet.authenticator)
        except RadiusError:
            pass
    hidden = packet.get(Attr.USER_PASSWORD)
    if hidden is not None:
        try:
            av.unhide_password(hidden, SECRET, packet.authenticator)
        except RadiusError:
            pass
    _ = (packet.user_name, packet.input_octets, packet.acct_status_type, packet.event_timestamp)
    codec.encode_reply(packet, 2, [], SECRET)


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif choice < 0.55:
            del buf[rng.randrange(len(buf) + 1):]
        elif choice < 0.7:
            pos = rng.randrange(len(buf) + 1)
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif choice < 0.85 and len(buf) >= 4:
            buf[2:4] = rng.randrange(65536).to_bytes(2, "big")  # lie about the length
        elif len(buf) > 21:
            buf[rng.randrange(20, len(buf))] = rng.choice((0, 1, 2, 255))  # attribute lengths
    return bytes(buf)


def test_fuzz_100k_cases() -> None:
    rng = random.Random(20261126)
    cases = 0
    for _ in range(30_000):
        exercise(rng.randbytes(rng.randint(0, 64)))
        # a valid header with random attributes reaches the attribute walker
        body = rng.randbytes(rng.randint(0, 80))
        exercise(bytes((1, rng.randrange(256))) + (20 + len(body)).to_bytes(2, "big") + bytes(16) + body)
        cases += 2
    for _ in range(72_000):
        exercise(mutate(rng, rng.choice(SEEDS)))
        cases += 1
    assert cases >= 100_000


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_hypothesis_bytes(data: bytes) -> None:
    exercise(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6))
def test_fuzz_hypothesis_mutations(seed: bytes, edits: list[tuple[int, int]]) -> None:
    buf = bytearray(seed)
    for pos, value in edits:
        if pos < len(buf):
            buf[pos] = value
    exercise(bytes(buf))
