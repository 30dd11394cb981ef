"""The API's operations, one module per area (each registers on `app.api.bp`)."""

from app.api.routes import (  # noqa: F401
    addresses,
    auth,
    cart,
    catalog,
    crm,
    docs,
    maklon,
    notifications,
    orders,
    payments,
    seller,
    shipping,
)
