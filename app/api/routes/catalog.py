"""API operations: catalog (filled in by its area)."""
