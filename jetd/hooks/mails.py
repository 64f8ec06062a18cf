"""Jet's own texts of the built-in e-mails: behaviour -> (subject, body), ``string.Template``
with the fields of docs/hooks.md and ``$name``. Operators and realms replace them in
``[hooks.builtin.mails.NAME]`` (``jetd.hooks.settings.MailText``)."""

from __future__ import annotations

MAILS: dict[str, tuple[str, str]] = {
    "welcome": (
        "Welcome to $realm, $account_username",
        "Kia ora $name,\n\nYour account $account_username is ready.\n\n"
        "Plan: $plan\n\nThank you for choosing us.\n"),
    "usage_warning": (
        "You have used $threshold% of your $bundle allowance",
        "Kia ora $name,\n\nYour account $account_username has used $threshold% of its $bundle "
        "allowance for this period.\n"),
    "low_balance_warning": (
        "Your prepaid balance is low",
        "Kia ora $name,\n\nThe prepaid balance of your account $account_username has come down to the "
        "low-balance level of your plan $plan.\nTop up to keep your service going.\n"),
    "balance_exhausted_notice": (
        "Your prepaid balance is used up",
        "Kia ora $name,\n\nThe prepaid balance of your account $account_username is used up"
        ".\nTop up to be back online.\n"),
    "suspension_notice": (
        "Your account $account_username is suspended",
        "Kia ora $name,\n\nYour account $account_username has been suspended.\nReason: $reason\n\n"
        "Contact us to resolve this.\n"),
    "plan_change_notice": (
        "Your plan is changing to $plan",
        "Kia ora $name,\n\nYour account $account_username moves from plan $previous_plan to $plan "
        "on $effective.\n"),
}
