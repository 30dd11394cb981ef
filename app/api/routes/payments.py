"""API operations: payments (filled in by its area)."""
