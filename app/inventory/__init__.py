"""Inventory: the stock ledger, the seller's inventory page and low-stock alerts."""
