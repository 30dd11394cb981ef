"""API operations: crm (filled in by its area)."""
