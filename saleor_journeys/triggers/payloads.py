"""Pydantic models of the webhook bodies, matching the subscription queries in ``fragments/``.

They check what the app relies on and ignore the rest, so a Saleor that sends more fields (or a
recorded delivery made with a richer query) still validates. A body that lacks a required part
(say a ``checkout_updated`` without its checkout) is rejected at the webhook with a 400.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class MetadataItem(Model):
    key: str
    value: str


class Country(Model):
    code: str = ""


class Address(Model):
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: Country | None = None
    phone: str | None = None


class Money(Model):
    amount: Decimal
    currency: str


class TaxedMoney(Model):
    gross: Money


class Principal(Model):
    typename: str = Field(alias="__typename")
    id: str | None = None


class Envelope(Model):
    typename: str = Field(alias="__typename")
    issued_at: datetime
    version: str | None = None
    issuing_principal: Principal | None = None


class User(Model):
    id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    is_active: bool | None = None
    is_confirmed: bool | None = None
    language_code: str | None = None
    date_joined: datetime | None = None
    updated_at: datetime | None = None
    default_billing_address: Address | None = None
    default_shipping_address: Address | None = None
    metadata: list[MetadataItem] = []


class UserEvent(Envelope):
    user: User


class UserRef(Model):
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class Channel(Model):
    id: str | None = None
    slug: str = ""
    currency_code: str | None = None


class Category(Model):
    id: str
    name: str = ""
    slug: str = ""


class Image(Model):
    url: str = ""


class Product(Model):
    id: str
    name: str = ""
    slug: str = ""
    category: Category | None = None
    thumbnail: Image | None = None


class Variant(Model):
    id: str
    sku: str | None = None
    name: str | None = None
    product: Product | None = None


class CheckoutLine(Model):
    id: str
    quantity: int
    variant: Variant | None = None
    unit_price: TaxedMoney | None = None
    total_price: TaxedMoney | None = None


class Checkout(Model):
    id: str
    token: UUID
    created: datetime | None = None
    updated_at: datetime
    email: str | None = None
    language_code: str | None = None
    user: UserRef | None = None
    channel: Channel | None = None
    quantity: int = 0
    voucher_code: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    lines: list[CheckoutLine] = []
    subtotal_price: TaxedMoney | None = None
    total_price: TaxedMoney | None = None
    metadata: list[MetadataItem] = []


class CheckoutEvent(Envelope):
    checkout: Checkout


class OrderLine(Model):
    id: str
    product_name: str = ""
    variant_name: str | None = None
    product_sku: str | None = None
    product_variant_id: str | None = None
    quantity: int
    variant: Variant | None = None
    thumbnail: Image | None = None
    unit_price: TaxedMoney | None = None
    total_price: TaxedMoney | None = None


class Order(Model):
    id: str
    number: str
    token: UUID | None = None
    created: datetime | None = None
    updated_at: datetime
    status: str = ""
    origin: str | None = None
    user_email: str | None = None
    user: UserRef | None = None
    channel: Channel | None = None
    checkout_id: str | None = None
    language_code_enum: str | None = None
    is_paid: bool = False
    charge_status: str | None = None
    voucher_code: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    lines: list[OrderLine] = []
    subtotal: TaxedMoney | None = None
    total: TaxedMoney | None = None
    total_charged: Money | None = None
    total_refunded: Money | None = None


class OrderEvent(Envelope):
    order: Order
