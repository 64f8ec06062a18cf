"""Diameter metrics (DESIGN.md names; no per-subscriber labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("jet_diameter_requests_total", "Diameter credit-control requests answered, by command and "
                   "Result-Code.", ["command", "result"])
DURATION = Histogram("jet_diameter_request_duration_seconds", "Time from CCR to CCA.", ["command"],
                     buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
ERRORS = Counter("jet_diameter_errors_total", "Malformed or failed Diameter messages, by reason.", ["reason"])
