"""The file-backed parts of the config (pricebooks, dictionaries, …)."""

from __future__ import annotations
