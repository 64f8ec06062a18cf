"""The provisioning HTTP API under /v1/ (aiohttp + pydantic), mounted into jetd's API site."""

from provisioning.api.app import make_api_app, mount_api

__all__ = ["make_api_app", "mount_api"]
