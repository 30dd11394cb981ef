"""The user's saved shipping addresses (the web's /akun/alamat): what checkout's
`address_id` names.

    GET    /me/addresses                        the addresses, the default first
    POST   /me/addresses                        save one (honours Idempotency-Key); the first
                                                one, or one with `make_default`, is the default
    GET    /me/addresses/<address_id>           one address
    PATCH  /me/addresses/<address_id>           change fields (missing ones are kept)
    DELETE /me/addresses/<address_id>           delete (the newest other one becomes the
                                                default); orders keep their own copy
    POST   /me/addresses/<address_id>/default   make it the default

The rules are the web's: the input is validated by the web's `AddressForm` (the same
checks and messages, in the user's language), and written by the services of
app/accounts/addresses.py (at most MAX_ADDRESSES, exactly one default). The address is
selected together with the user's id: another user's address is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask import url_for
from flask_login import current_user
from pydantic import Field
from werkzeug.datastructures import MultiDict

from app.accounts.addresses import (
    MAX_ADDRESSES,
    PROVINCES,
    AddressData,
    AddressError,
    address_create,
    address_delete,
    address_make_default,
    address_owned,
    address_update,
    addresses_of,
)
from app.accounts.forms import (
    ADDRESS_CITY_MAX,
    ADDRESS_LABEL_MAX,
    ADDRESS_RECIPIENT_MAX,
    ADDRESS_STREET_MAX,
    PHONE_PATTERN,
    POSTAL_CODE_PATTERN,
    AddressForm,
)
from app.accounts.models import Address
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import Input, Output, Page, PageQuery
from app.api.spec import operation, page_of
from app.extensions import db

TAG = "Alamat"
FIELDS = ("label", "recipient", "phone", "street", "city", "province", "postal_code")


def _around_spaces(pattern: str) -> str:
    """A form pattern as the schema states it: the API trims strings before the check."""
    return r"^\s*" + pattern.removeprefix("^").removesuffix("$") + r"\s*$"


def _form_checked(**schema: Any) -> Any:
    """The field of a string AddressForm checks (`Annotated[str, _form_checked(...)]`): the
    schema states the form's limits; the form refuses what breaks them, every field at
    once, with the web's messages."""
    return Field(json_schema_extra=schema)


Label = Annotated[str, _form_checked(maxLength=ADDRESS_LABEL_MAX, examples=["Rumah"])]
Recipient = Annotated[str, _form_checked(minLength=1, maxLength=ADDRESS_RECIPIENT_MAX)]
Phone = Annotated[str, _form_checked(pattern=_around_spaces(PHONE_PATTERN),
                                     examples=["0812 3456 7890"])]
Street = Annotated[str, _form_checked(
    minLength=1, maxLength=ADDRESS_STREET_MAX,
    description="Street, house number, RT/RW, kelurahan, kecamatan.")]
City = Annotated[str, _form_checked(minLength=1, maxLength=ADDRESS_CITY_MAX)]
Province = Annotated[str, _form_checked(enum=list(PROVINCES))]
PostalCode = Annotated[str, _form_checked(pattern=_around_spaces(POSTAL_CODE_PATTERN),
                                          examples=["40111"])]


class AddressIn(Input):
    """A new address. The first one is the default, or any with `make_default`."""

    label: Label = ""
    recipient: Recipient
    phone: Phone
    street: Street
    city: City
    province: Province
    postal_code: PostalCode
    make_default: bool = False


class AddressPatchIn(Input):
    """The fields to change; a missing (or null) field keeps its value. `make_default:
    true` makes it the default (false changes nothing: make another one the default)."""

    label: Label | None = None
    recipient: Recipient | None = None
    phone: Phone | None = None
    street: Street | None = None
    city: City | None = None
    province: Province | None = None
    postal_code: PostalCode | None = None
    make_default: bool | None = None


class AddressOut(Output):
    """A saved shipping address."""

    id: int = Field(description="The `address_id` of POST /checkout.")
    label: str
    recipient: str
    phone: str
    street: str
    city: str
    province: str
    postal_code: str
    is_default: bool
    created_at: datetime


# --- helpers ---------------------------------------------------------------------------------

def _owned(address_id: int) -> Address:
    """The caller's address; another user's is a 404."""
    address = address_owned(user=current_user, address_id=address_id)
    if address is None:
        raise ApiError(404)
    return address


def _validated(values: dict[str, Any], make_default: bool) -> AddressData:
    """`values` checked by the web's AddressForm: 422 naming each refused field with the
    form's message."""
    formdata = MultiDict({name: values.get(name) or "" for name in FIELDS})
    if make_default:
        formdata["make_default"] = "y"
    form = AddressForm(formdata=formdata, meta={"csrf": False})
    if not form.validate():
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields={
            name: str(errors[0]) for name, errors in form.errors.items() if errors})
    return form.address_data()


def _limit_reached(error: AddressError) -> ApiError:
    return ApiError(409, ApiErrorCode.ADDRESS_LIMIT, error.message)


# --- operations ------------------------------------------------------------------------------

@operation(bp, "/me/addresses", "GET", tag=TAG, summary="My saved addresses",
           query=PageQuery, response=Page[AddressOut],
           description=f"The default first, then the newest (at most {MAX_ADDRESSES}).")
def address_list(query: PageQuery):
    addresses = addresses_of(current_user.id)
    start = (query.page - 1) * query.per_page
    return page_of(addresses[start:start + query.per_page], len(addresses), query, AddressOut)


@operation(bp, "/me/addresses", "POST", tag=TAG, summary="Save an address", body=AddressIn,
           response=AddressOut, status=201, errors=(409,), idempotent=True)
def address_add(body: AddressIn):
    """422 naming each field the address rules refuse (as the web's form: the phone, a
    5-digit postal code, a province of the list...); 409 `address_limit` when the user has
    the maximum already. With `Idempotency-Key`, a repeat gets the first answer."""
    data = _validated(body.model_dump(), body.make_default)
    try:
        address = address_create(user=current_user, data=data)
    except AddressError as error:
        raise _limit_reached(error) from None
    db.session.commit()
    return AddressOut.model_validate(address), 201, {
        "Location": url_for("api.address_get", address_id=address.id)}


@operation(bp, "/me/addresses/<id:address_id>", "GET", tag=TAG, summary="One of my addresses",
           response=AddressOut)
def address_get(address_id: int):
    """404 when it is not the caller's."""
    return AddressOut.model_validate(_owned(address_id))


@operation(bp, "/me/addresses/<id:address_id>", "PATCH", tag=TAG,
           summary="Change an address", body=AddressPatchIn, response=AddressOut)
def address_change(address_id: int, body: AddressPatchIn):
    """The address after the change is checked as a whole, like the web's form: 422 naming
    each refused field. 404 when it is not the caller's. Orders placed with it keep the
    address they were placed with."""
    address = _owned(address_id)
    values = {name: getattr(address, name) for name in FIELDS}
    values.update(body.model_dump(include=set(FIELDS), exclude_none=True))
    data = _validated(values, bool(body.make_default))
    address_update(user=current_user, address=address, data=data)
    db.session.commit()
    return AddressOut.model_validate(address)


@operation(bp, "/me/addresses/<id:address_id>", "DELETE", tag=TAG,
           summary="Delete an address", response=None, status=204)
def address_remove(address_id: int):
    """The newest other address becomes the default when this one was. Orders placed with
    it keep their own copy of it. 404 when it is not the caller's."""
    address_delete(user=current_user, address=_owned(address_id))
    db.session.commit()
    return None


@operation(bp, "/me/addresses/<id:address_id>/default", "POST", tag=TAG,
           summary="Make an address the default", response=AddressOut)
def address_default(address_id: int):
    """The previous default stops being one. 404 when it is not the caller's."""
    address = _owned(address_id)
    address_make_default(user=current_user, address=address)
    db.session.commit()
    return AddressOut.model_validate(address)
