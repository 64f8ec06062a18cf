"""The invoicer's Prometheus metrics (no per-subscriber labels)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

STREAM_MESSAGES = Counter("jet_stream_messages_total", "Completed-session stream messages handled",
                          ["result"])  # stored | duplicate | dead
STREAM_DEAD_LETTERS = Counter("jet_stream_dead_letters_total", "Messages moved to the dead-letter stream")
STREAM_CLAIMED = Counter("jet_stream_claimed_total", "Pending messages reclaimed from idle consumers")
INVOICES_CREATED = Counter("jet_invoices_created_total", "Invoices created by billing runs")
INVOICES_OVERDUE = Counter("jet_invoices_overdue_total", "Invoices flagged overdue (invoice.overdue raised)")
RECEIPTS_CREATED = Counter("jet_receipts_created_total", "Receipts made for payments")
RECEIPT_DELIVERIES = Counter("jet_receipts_deliveries_total", "Receipt delivery attempts", ["result"])
BILLING_ERRORS = Counter("jet_invoices_billing_errors_total", "Accounts a billing run could not bill")
DELIVERIES = Counter("jet_invoices_deliveries_total", "Invoice delivery attempts", ["result"])
UNDELIVERED = Gauge("jet_invoices_undelivered", "Invoices waiting to be delivered (last check)")
