"""Maklon: contract manufacturing for brand owners (clients).

Where things live:
    models.py          every maklon table and the status/stage vocabularies
    labels.py          the Indonesian labels of those vocabularies (statuses, types, lines)
    access.py          who may see which request or formula (ownership in the query; 404)
    capability.py      production capability from settings and the request validation
    pricing.py         the pure pricing function and its parameters from settings
    requests.py        quote requests: drafts, submit, files, the live estimate
    forms.py           the request form (parsing what the client typed)
    quotes.py          quote versions, diffs, negotiation messages, admin approval
    contracts.py       signing: spec signature, evidence, Ed25519 seal, verification
    contract_pdf.py    the contract document (reportlab)
    milestones.py      payment schedule, milestone payments and their settlement
    stages.py          production stage table, payment gates, board, stage emails
    formula_crypto.py  AES-256-GCM key ring for formula compositions (FORMULA_KEYS)
    formulas.py        formula services: save, read (audited), rotate keys
    materials.py       raw-material ledger, reserve / consume / release for a batch
    raw_materials.py   the raw-material inventory page's services and queries
    otdr.py            on-time delivery rate (nightly job, stored snapshots)
    goods.py           finished goods into the client's store
    tabs.py            the tabs of one request's pages
    cli.py             flask formulas ... / flask maklon otdr
    demo.py            demo data for `make run`
    routes/            the blueprint, one module per page or tab (see routes/__init__.py)
"""
