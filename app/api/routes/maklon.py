"""API operations: maklon (filled in by its area)."""
