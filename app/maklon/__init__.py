"""Maklon: contract manufacturing for brand owners (clients).

Where things live:
    models.py          every maklon table and the status/stage vocabularies
    access.py          who may see which request (ownership in the query; others get 404)
    capability.py      production capability from settings and the request validation
    pricing.py         the pure pricing function and its parameters from settings
    formula_crypto.py  AES-256-GCM key ring for formula compositions (FORMULA_KEYS)
    formulas.py        formula services: save, read (audited), rotate keys
    materials.py       raw-material ledger, reserve / consume / release for a batch
    requests.py        quote requests: drafts, submit, files
    quotes.py          quote versions, diffs, negotiation messages, admin approval
    contracts.py       contract PDF, signature, Ed25519 seal, verification
    milestones.py      payment schedule, milestone payments and invoices
    stages.py          production stage table, gates, board, QC, stage emails
    otdr.py            on-time delivery rate (nightly job)
    goods.py           finished goods into the client's store
    routes/            the blueprint, one module per area (see routes/__init__.py)
"""
