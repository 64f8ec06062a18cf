"""Defaults that light command-line tools need without loading the settings schema."""

DEFAULT_CONFIG = "/etc/jet/jet.toml"
DEFAULT_SOCKET = "/run/jet/jetd.sock"
