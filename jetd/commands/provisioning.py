"""Control commands for provisioning (filled in by the provisioning work)."""
