"""API operations: orders (filled in by its area)."""
