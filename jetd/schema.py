"""The base of every settings model: unknown keys are errors, values frozen once loaded,
and secrets given inline, from a file or from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


def text_from_file(data: Any, name: str) -> Any:
    """``NAME_file`` as the text of ``NAME`` (a template kept whole, unlike a secret): for a
    ``mode="before"`` validator. Both given is an error; an unreadable file names itself."""
    if not isinstance(data, dict) or data.get(f"{name}_file") is None:
        return data
    if data.get(name) is not None:
        raise ValueError(f"{name} and {name}_file: give one")
    path = Path(str(data[f"{name}_file"]))
    try:
        return {**data, name: path.read_text(encoding="utf-8")}
    except OSError as exc:
        raise ValueError(f"{name}_file: cannot read {path}: {exc.strerror}") from None


class Model(BaseModel):
    """Strict base: unknown keys are errors, values are frozen once loaded.

    Each name in ``secret_fields`` also accepts ``NAME_file`` (the file's text, stripped;
    names in ``keep_newline`` keep one trailing newline, as SSH keys need) and ``NAME_env``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_fields: ClassVar[tuple[str, ...]] = ()
    keep_newline: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not cls.secret_fields:
            return data
        data = dict(data)
        for name in cls.secret_fields:
            given = [k for k in (name, f"{name}_file", f"{name}_env") if k in data]
            if len(given) > 1:
                raise ValueError(f"give only one of {', '.join(given)}")
            if f"{name}_file" in data:
                path = Path(str(data.pop(f"{name}_file")))
                try:
                    text = path.read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ValueError(f"{name}_file: cannot read {path}: {exc.strerror}") from None
                data[name] = text + "\n" if name in cls.keep_newline else text
            elif f"{name}_env" in data:
                var = str(data.pop(f"{name}_env"))
                if var not in os.environ:
                    raise ValueError(f"{name}_env: environment variable {var} is not set")
                data[name] = os.environ[var]
        return data
