"""PAP checks against cached accounts at RADIUS rates.

scrypt is slow on purpose (tens of milliseconds), which a RADIUS server answering
tens of thousands of requests a second cannot pay on every Access-Request. So:

- CHAP realms keep the cleartext: compare it (constant time).
- Where the realm keeps the NT hash (MS-CHAPv2), MD4 of the offered password is
  compared: microseconds, and no weaker than storing the NT hash already is.
- Otherwise scrypt, once: a success is remembered as a keyed BLAKE2b of the password
  (key random per process, never stored), tied to the exact stored hash, so the next
  request with the same password costs microseconds and a password change voids it.
  A wrong password always pays the full scrypt; callers should run ``check_slow`` in a
  thread (``check_async`` does) and rate-limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

from Crypto.Hash import MD4

from provisioning.cache import AuthAccount
from provisioning.credentials import verify_password


class PapChecker:
    def __init__(self, max_remembered: int = 500_000) -> None:
        self._key = os.urandom(32)
        self._memo: dict[int, tuple[str, bytes]] = {}
        self.max_remembered = max_remembered

    def _tag(self, password: str) -> bytes:
        return hashlib.blake2b(password.encode(), key=self._key, digest_size=32).digest()

    def check_fast(self, account: AuthAccount, password: str) -> bool | None:
        """True/False when it can be decided in microseconds, None when scrypt is needed."""
        if account.cleartext is not None:
            return hmac.compare_digest(account.cleartext.encode(), password.encode())
        if account.nt_hash is not None:
            return hmac.compare_digest(MD4.new(password.encode("utf-16-le")).digest(), account.nt_hash)
        if account.password_hash is None:
            return False
        memo = self._memo.get(account.id)
        if memo is not None and memo[0] == account.password_hash and hmac.compare_digest(
                memo[1], self._tag(password)):
            return True
        return None

    def check_slow(self, account: AuthAccount, password: str) -> bool:
        """The scrypt path (blocking); remembers a success."""
        if account.password_hash is None or not verify_password(password, account.password_hash):
            return False
        if len(self._memo) >= self.max_remembered:
            self._memo.clear()
        self._memo[account.id] = (account.password_hash, self._tag(password))
        return True

    def check(self, account: AuthAccount, password: str) -> bool:
        fast = self.check_fast(account, password)
        return fast if fast is not None else self.check_slow(account, password)

    async def check_async(self, account: AuthAccount, password: str) -> bool:
        fast = self.check_fast(account, password)
        if fast is not None:
            return fast
        return await asyncio.to_thread(self.check_slow, account, password)
