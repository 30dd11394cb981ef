"""The company that runs Racik, as printed on documents (invoices, later contracts and
reports): legal name, address, NPWP, PKP flag and logo.

Stored as settings (`company.*`, edited on /admin/pengaturan); read here, so a document
module needs no knowledge of the admin console. The logo is a WebP under storage folder
`company/`, re-encoded from the upload like a product photo.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.settings import setting_get

SETTING_NAME = "company.name"
SETTING_ADDRESS = "company.address"
SETTING_NPWP = "company.npwp"
SETTING_PKP = "company.pkp"
# Not "...logo_key": a key name containing "key" is treated as a secret by the audit log.
SETTING_LOGO = "company.logo"

DEFAULT_NAME = "Racik"
LOGO_FOLDER = "company"


@dataclass(frozen=True)
class CompanyIdentity:
    name: str
    address: str
    npwp: str  # digits, "" when none
    pkp: bool
    logo: str  # storage key of the logo (WebP), "" when none


def company_identity() -> CompanyIdentity:
    """The company's identity as set on the settings page (defaults: name "Racik", the
    rest empty)."""
    return CompanyIdentity(
        name=str(setting_get(SETTING_NAME, DEFAULT_NAME) or DEFAULT_NAME),
        address=str(setting_get(SETTING_ADDRESS, "") or ""),
        npwp=str(setting_get(SETTING_NPWP, "") or ""),
        pkp=bool(setting_get(SETTING_PKP, False)),
        logo=str(setting_get(SETTING_LOGO, "") or ""),
    )
