"""User-Name → (realm part, user part), per ``radius.realm_formats``."""

from __future__ import annotations

from collections.abc import Iterable


def split_user_name(name: str, formats: Iterable[str]) -> tuple[str | None, str]:
    """``alice@visp.example`` → ("visp.example", "alice"); ``VISP\\alice`` → ("VISP", "alice").

    None for the realm when no format matched: the default realm answers.
    """
    for fmt in formats:
        if fmt == "suffix" and "@" in name:
            user, _, realm = name.rpartition("@")
            if user and realm:
                return realm, user
        elif fmt == "ntdomain" and "\\" in name:
            realm, _, user = name.partition("\\")
            if user and realm:
                return realm, user
    return None, name
