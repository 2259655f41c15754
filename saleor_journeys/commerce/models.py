"""Mirrors of Saleor checkouts and orders: what cart recovery, purchase exclusions and RFM read."""

from __future__ import annotations

from django.db import models

from saleor_journeys.contacts.models import Contact
from saleor_journeys.saleor.models import Installation


def money() -> models.DecimalField:
    """An amount in the currency of its row; NULL when Saleor did not say."""
    return models.DecimalField(max_digits=14, decimal_places=4, null=True)


class Checkout(models.Model):
    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    token = models.UUIDField()
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkouts"
    )
    # NULL, not "", so that erased rows do not look like a shared empty address.
    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001
    channel_slug = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    language_code = models.CharField(max_length=35, blank=True)
    quantity = models.PositiveIntegerField(default=0)
    subtotal = money()
    total = money()
    voucher_code = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(null=True)
    # ``updatedAt`` and ``issuedAt`` of the newest payload applied; older payloads are ignored.
    saleor_updated_at = models.DateTimeField(null=True)
    issued_at = models.DateTimeField(null=True)
    # Set by the order made from it. A completed checkout never becomes active again, whatever
    # late checkout deliveries say; it may be created by the order before any checkout event.
    completed_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["installation", "token"], name="sj_checkout_token"),
        ]
        indexes = [
            # Abandoned carts: open checkouts by last change.
            models.Index(
                fields=["installation", "saleor_updated_at"],
                name="sj_checkout_open",
                condition=models.Q(completed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"checkout {self.token}"

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


class LineFields(models.Model):
    saleor_line_id = models.CharField(max_length=255)
    variant_id = models.CharField(max_length=255, blank=True)
    variant_name = models.CharField(max_length=255, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    product_id = models.CharField(max_length=255, blank=True)
    product_name = models.CharField(max_length=255, blank=True)
    product_slug = models.CharField(max_length=255, blank=True)
    category_id = models.CharField(max_length=255, blank=True)
    category_name = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = money()
    total_price = money()
    currency = models.CharField(max_length=3, blank=True)
    image_url = models.URLField(max_length=1024, blank=True)

    class Meta:
        abstract = True


class CheckoutLine(LineFields):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        app_label = "saleor_journeys"

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"


class Order(models.Model):
    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    saleor_id = models.CharField(max_length=255)
    number = models.CharField(max_length=32)
    token = models.UUIDField(null=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001
    checkout_token = models.UUIDField(null=True, blank=True)
    channel_slug = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, blank=True)
    origin = models.CharField(max_length=32, blank=True)
    is_paid = models.BooleanField(default=False)
    charge_status = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    subtotal = money()
    total = money()
    total_charged = money()
    total_refunded = money()
    voucher_code = models.CharField(max_length=255, blank=True)
    language_code = models.CharField(max_length=35, blank=True)
    created_at = models.DateTimeField(null=True)
    saleor_updated_at = models.DateTimeField(null=True)
    issued_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["installation", "saleor_id"], name="sj_order_id"),
        ]
        indexes = [
            models.Index(fields=["contact", "-created_at"], name="sj_order_contact"),
            models.Index(fields=["installation", "-created_at"], name="sj_order_recent"),
        ]

    def __str__(self) -> str:
        return f"order #{self.number}"


class OrderLine(LineFields):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        app_label = "saleor_journeys"
        indexes = [models.Index(fields=["product_id"], name="sj_orderline_product")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"
