"""The RADIUS dictionary as a config part: the shipped files plus radius.dictionaries."""

from __future__ import annotations

from jetd.errors import ConfigError, Problem
from jetd.loading import part
from jetd.settings import Settings
from protocols.radius.dictionary import BUNDLED_DICTIONARY, Dictionary, load_dictionary
from protocols.radius.errors import DictionaryError


class LoadedDictionary:
    def __init__(self, dictionary: Dictionary, files: int) -> None:
        self.dictionary = dictionary
        self.files = files

    def summary(self) -> str:
        return f"{len(self.dictionary)} attributes"


@part("dictionary")
def dictionary(settings: Settings) -> LoadedDictionary:
    paths = [BUNDLED_DICTIONARY, *settings.radius.dictionaries]
    try:
        return LoadedDictionary(load_dictionary(paths), len(paths))
    except DictionaryError as exc:
        raise ConfigError([Problem(exc.path or "radius.dictionaries", "radius.dictionaries",
                                   exc.message, exc.line or None)]) from None
