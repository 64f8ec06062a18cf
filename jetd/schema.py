"""The base of every settings model: unknown keys are errors, values frozen once loaded,
and secrets given inline, from a file or from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


def read_text(key: str, path: Any) -> str:
    """The text of the file a ``NAME_file`` key names; an unreadable file is a settings error."""
    file = Path(str(path))
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{key}: cannot read {file}: {exc.strerror}") from None


def text_from_file(data: Any, name: str) -> Any:
    """``NAME_file`` as the text of ``NAME`` (a template kept whole, unlike a secret): for a
    ``mode="before"`` validator. Both given is an error; an unreadable file names itself."""
    if not isinstance(data, dict) or f"{name}_file" not in data:
        return data
    data = dict(data)
    path = data.pop(f"{name}_file")
    if path is None:
        return data
    if data.get(name) is not None:
        raise ValueError(f"{name} and {name}_file: give one")
    data[name] = read_text(f"{name}_file", path)
    return data


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
                text = read_text(f"{name}_file", data.pop(f"{name}_file")).strip()
                data[name] = text + "\n" if name in cls.keep_newline else text
            elif f"{name}_env" in data:
                var = str(data.pop(f"{name}_env"))
                if var not in os.environ:
                    raise ValueError(f"{name}_env: environment variable {var} is not set")
                data[name] = os.environ[var]
        return data
