"""API operations: seller (filled in by its area)."""
