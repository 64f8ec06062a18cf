"""Loading a config with the files it names: all or nothing, every problem named."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetd.errors import ConfigError
from jetd.loading import load


def test_a_bad_dictionary_file_is_named_with_its_line(tmp_path: Path) -> None:
    dictionary = tmp_path / "dictionary.local"
    dictionary.write_text("VENDOR Jet 64999\nBEGIN-VENDOR Jet\nATTRIBUTE Jet-Plan 1 string\n"
                          "ATTRIBUTE Jet-Foo 2 strung\nEND-VENDOR Jet\n")
    config = tmp_path / "jet.toml"
    config.write_text('[radius]\ndictionaries = ["dictionary.local"]\n')
    with pytest.raises(ConfigError) as info:
        load(config)
    assert [str(p) for p in info.value.problems] == [
        f"{dictionary}:4: radius.dictionaries: unknown data type 'strung'"
    ]


def test_operator_dictionary_adds_attributes(tmp_path: Path) -> None:
    (tmp_path / "dictionary.local").write_text(
        "VENDOR Jet 64999\nBEGIN-VENDOR Jet\nATTRIBUTE Jet-Plan 1 string\nEND-VENDOR Jet\n")
    config = tmp_path / "jet.toml"
    config.write_text('[radius]\ndictionaries = ["dictionary.local"]\n')
    loaded = load(config)
    assert loaded.parts["dictionary"].dictionary.key("Jet-Plan") == (64999, 1)
    assert "Mikrotik-Rate-Limit" in loaded.parts["dictionary"].dictionary
