"""Credit packages for sale, and their matching Stripe Products and Prices."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from app.models.base import utcnow
from app.models.payments import CreditPackage
from app.services.payments import gateway
from app.services.payments.errors import UnknownPackage

log = structlog.get_logger(__name__)

CREDITS_PER_USD = 100_000  # 1 credit = US$0.00001

# slug, name, price in cents, credits (Pro and Business carry a 5 % and 10 % bonus). The
# 005_payments migration inserts the same rows; operators edit them in the back office.
DEFAULT_PACKAGES = (
    ("starter", "Starter", 500, 500_000),
    ("pro", "Pro", 2_000, 2_100_000),
    ("business", "Business", 10_000, 11_000_000),
)


def ensure_default_packages() -> int:
    """Insert any default package that is missing (never changes an existing one)."""
    created = 0
    for order, (slug, name, price_cents, credits) in enumerate(DEFAULT_PACKAGES):
        created += CreditPackage.insert(
            slug=slug, name=name, price_cents=price_cents, amount_credits=credits,
            currency="usd", active=True, sort_order=order,
        ).on_conflict_ignore().as_rowcount().execute()
    return created


def active_packages() -> list[CreditPackage]:
    return list(CreditPackage.select().where(CreditPackage.active)
                .order_by(CreditPackage.sort_order, CreditPackage.price_cents))


def active_package(slug: str) -> CreditPackage:
    package = CreditPackage.get_or_none((CreditPackage.slug == slug) & CreditPackage.active)
    if package is None:
        raise UnknownPackage(f"package: no active credit package {slug!r}; "
                             "see GET /api/payments/packages")
    return package


def price_spec(package: CreditPackage) -> str:
    """What a Stripe Price must charge to match the package, e.g. `500 usd`."""
    return f"{package.price_cents} {package.currency}"


def product_id_for(package: CreditPackage) -> str:
    return package.stripe_product_id or f"hub_pkg_{package.slug}"


@dataclass(frozen=True)
class SyncedPackage:
    slug: str
    product_id: str
    price_id: str
    price_created: bool


def sync_stripe_products() -> list[SyncedPackage]:
    """Create or update one Stripe Product per package and a Price matching its price.

    Product ids are our own (`hub_pkg_<slug>`), so re-running after a lost database finds the
    same products. A package whose price changed gets a new Price; the old one is archived.
    """
    synced = []
    for package in CreditPackage.select().order_by(CreditPackage.sort_order):
        product_id = product_id_for(package)
        metadata = {"hub_package": package.slug}
        gateway.upsert_product(product_id, name=f"{package.name} credits", active=package.active,
                               metadata=metadata)
        created = package.stripe_price_id is None or package.stripe_price_spec != price_spec(package)
        if created:
            price = gateway.create_price(product_id=product_id, unit_amount=package.price_cents,
                                         currency=package.currency, metadata=metadata)
            if package.stripe_price_id:
                gateway.deactivate_price(package.stripe_price_id)
            package.stripe_price_id = price["id"]
            package.stripe_price_spec = price_spec(package)
        package.stripe_product_id = product_id
        package.updated_at = utcnow()
        package.save()
        log.info("stripe_package_synced", package=package.slug, product_id=product_id,
                 price_id=package.stripe_price_id, price_created=created)
        synced.append(SyncedPackage(package.slug, product_id, package.stripe_price_id, created))
    return synced
