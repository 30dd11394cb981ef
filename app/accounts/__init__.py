"""Accounts: users, roles, sessions, stores; registration, login, profile."""
