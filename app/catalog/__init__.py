"""Catalog: categories, products, variants, photos and product search."""
