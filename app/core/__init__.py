"""Shared mechanisms only: money, time, htmx helpers, security, queue, mail, storage.

Nothing in here knows about a business domain; domains import from here, never the reverse.
"""
