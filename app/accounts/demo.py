"""The demo accounts' password (`make run`, `flask demo load`; never in production): shared
by app.demo and the domains' demo data (catalog, maklon), which sit below app.demo."""

DEMO_PASSWORD = "racik-demo-2026"  # noqa: S105 - documented demo credential
