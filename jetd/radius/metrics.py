"""RADIUS metrics (DESIGN.md names; no per-subscriber labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("jet_radius_requests_total", "RADIUS requests answered, by kind and result.",
                   ["kind", "result"])
DURATION = Histogram("jet_radius_request_duration_seconds", "Time from datagram to answer.", ["kind"],
                     buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
DROPPED = Counter("jet_radius_dropped_total", "RADIUS datagrams dropped without an answer, by reason.",
                  ["reason"])
REJECTS = Counter("jet_radius_rejects_total", "Access-Rejects by reason.", ["reason"])
