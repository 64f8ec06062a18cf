"""The file-backed parts of the config (pricebooks, dictionaries, …)."""

from __future__ import annotations

import rating
from jetd.errors import ConfigError
from jetd.loading import part
from jetd.settings import Settings


@part("catalog")
def catalog(settings: Settings) -> rating.Catalog:
    """The pricebooks named by ``[catalog] files``, validated all together.

    Every PricebookError problem becomes a jetd Problem (file, key path, reason, line),
    so ``jetd --check`` and a reload name each one and a bad pricebook is refused.
    """
    try:
        return rating.load_catalog(settings.catalog.files)
    except rating.PricebookError as exc:
        raise ConfigError(list(exc.problems)) from None
