"""jetctl account/realm/topup/charge/payment/token/users (filled in by the provisioning work)."""
