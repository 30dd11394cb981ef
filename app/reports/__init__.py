"""Reports: seller analytics, dashboards, filtered reports and exports (CSV/PDF), weekly
seller reports (backups have their own package, app/backups/). Each part's module docstring tells
what it does; routes live in routes/ (one module per page)."""
