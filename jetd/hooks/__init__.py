"""Events and hooks: deliver outbox events to configured actions (see docs/hooks.md).

Kept empty of imports: ``jetd.settings`` imports ``jetd.hooks.settings``.
"""
