"""Diameter Gy/Ro credit control in jetd: the listener site and the credit-control service."""
