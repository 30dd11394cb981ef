"""Keyword search over products: normalisation and the dialect-specific full-text index.

Both backends index the same two columns, `products.search_name` and `search_body`, which
the services fill with `search_normalize(...)` of the name and the description (lower case,
accents removed, punctuation to spaces). Queries are normalised the same way, so "Sérum"
finds "serum" and "SERUM".

- PostgreSQL: a generated `tsvector` column `products.search_vector` (name weighted A,
  description B, the 'simple' configuration: no stemming that would mangle Indonesian) with
  a GIN index; every query term is a prefix match, ranked with `ts_rank`.
- SQLite: an FTS5 table `product_fts` over the same columns (external content = `products`,
  kept in sync by triggers), prefix queries, ranked with bm25 (name weighted 10 to 1).

Both are created by the migration only, never by the models, and are left out of the
models-vs-migrations comparison (`core.db.HAND_MADE_SCHEMA`). Caution for future
migrations: a SQLite batch ALTER of `products` recreates the table and drops the triggers;
such a migration must recreate them (`SQLITE_FTS_TRIGGERS` in 0002_catalog).

Indonesian-friendly: common spelling variants and loan words are searched together
("pelembap" also finds "pelembab" and "moisturizer"; "krim" finds "cream").
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import ColumnElement, func, literal_column, select, table
from sqlalchemy import column as sql_column

MAX_TERMS = 8
_NON_WORD = re.compile(r"[^a-z0-9]+")

# Each group is searched as one term: any member finds the others.
SYNONYM_GROUPS: tuple[frozenset[str], ...] = tuple(
    frozenset(group)
    for group in (
        {"pelembap", "pelembab", "moisturizer", "moisturiser"},
        {"krim", "cream", "krem"},
        {"sabun", "soap"},
        {"sampo", "shampoo", "syampo"},
        {"kondisioner", "conditioner"},
        {"tabir", "sunscreen", "sunblock"},
        {"wajah", "muka", "face"},
        {"rambut", "hair"},
        {"badan", "tubuh", "body"},
        {"minyak", "oil"},
        {"masker", "mask"},
        {"pembersih", "cleanser"},
        {"parfum", "parfume", "perfume", "wewangian"},
        {"lipstik", "lipstick"},
        {"vitamin", "vitamine"},
        {"jamu", "herbal"},
    )
)
_SYNONYMS = {word: group for group in SYNONYM_GROUPS for word in group}


def search_normalize(text: str) -> str:
    """Lower-case, strip accents, turn everything but letters and digits into single spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(_NON_WORD.split(plain)).strip()


def search_terms(query: str) -> list[tuple[str, ...]]:
    """The query's terms, each with its spelling variants (deduplicated, at most 8 terms).

    Single letters are dropped: a one-letter prefix matches nearly everything, and active
    search sends the first letter typed. Terms contain only [a-z0-9], so they are safe in
    either dialect's query syntax.
    """
    words = [w for w in search_normalize(query).split() if len(w) > 1]
    terms: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for word in words:
        if word in seen:
            continue
        seen.add(word)
        variants = tuple(sorted(_SYNONYMS.get(word, {word})))
        terms.append(variants)
        if len(terms) == MAX_TERMS:
            break
    return terms


def postgres_tsquery(terms: list[tuple[str, ...]]) -> str:
    """`(pelembab:* | pelembap:*) & wajah:*` for to_tsquery('simple', ...)."""
    return " & ".join(
        "(" + " | ".join(f"{v}:*" for v in variants) + ")" for variants in terms
    )


def sqlite_match(terms: list[tuple[str, ...]]) -> str:
    """`(pelembab* OR pelembap*) AND wajah*` for an FTS5 MATCH."""
    return " AND ".join(
        "(" + " OR ".join(f"{v}*" for v in variants) + ")" for variants in terms
    )


product_fts = table("product_fts", sql_column("rowid"), sql_column("rank"))


def keyword_filter(dialect: str, terms: list[tuple[str, ...]], product_id: ColumnElement, *,
                   broad: bool = False):
    """(where-clause, rank expression, extra FROM/join or None) for the current dialect.

    The rank sorts ascending (best first) on both backends. `broad` (more matches than a
    page can rank, see `product_search`): no rank, and a filter that lets the database
    walk the sort order's index and stop after a page. On PostgreSQL the `@@` test is
    already such a filter (checked per row of the index walk). On SQLite a join would put
    the FTS5 scan on the outside, then sort every match; instead the matches become an
    IN list (`LIST SUBQUERY`: one pass over the FTS doclists, a rowid set) probed while
    `products` is walked in index order. The unary `+` keeps SQLite from turning the IN
    into rowid lookups (which would bring back the sort).
    """
    if dialect == "postgresql":
        vector = literal_column("products.search_vector")
        tsquery = func.to_tsquery("simple", postgres_tsquery(terms))
        return vector.op("@@")(tsquery), (None if broad else -func.ts_rank(vector, tsquery)), None
    match = literal_column("product_fts").op("MATCH")(sqlite_match(terms))
    if broad:
        matches = select(product_fts.c.rowid).where(match)
        return literal_column("+products.id").in_(matches), None, None
    return match, product_fts.c.rank, (product_fts, product_fts.c.rowid == product_id)
