"""API operations: cart (filled in by its area)."""
