"""Inventory: the stock ledger (models.py: `StockMovement`, `StockReason`), one row per
change of a variant's stock or of a raw material's on-hand quantity.

It sits below catalog and maklon and imports neither (the ledger names the `variants` and
`raw_materials` tables by foreign-key string only). Who writes to it:

    app/catalog/stock.py          a variant's stock writes (stock_change, stock_set) and the
                                  low-stock alert
    app/catalog/stock_queries.py  the seller's inventory page reads
    app/catalog/stock_routes.py   the seller's inventory page (blueprint "inventory")
    app/maklon/materials.py       raw-material stock (pages: app/maklon/raw_materials.py)
"""
