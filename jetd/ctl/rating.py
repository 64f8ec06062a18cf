"""jetctl pricebook check / jetctl rate (filled in by the rating work)."""
