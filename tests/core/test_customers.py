"""Who placed an order: the identity that joins a person's orders across channels."""

from __future__ import annotations

import pytest

from channelsync.core.salesbook import identity_of


@pytest.mark.parametrize(
    ("kind", "account", "customer_id", "email", "identity"),
    [
        # the e-mail, trimmed and in lower case, whatever the channel
        ("shopify", "shop-de", "77", "  Erika@Example.TEST ", "email:erika@example.test"),
        ("woocommerce", "woo", None, "erika@example.test", "email:erika@example.test"),
        # Amazon hides the e-mail behind a relay address, stable per buyer
        (
            "amazon",
            "amazon-de",
            None,
            "Abc123@marketplace.amazon.de",
            "amazon:abc123@marketplace.amazon.de",
        ),
        # eBay: the buyer's user id, whatever e-mail it shows
        ("ebay", "ebay-de", "erika_uk", "Invalid Request", "ebay:erika_uk"),
        ("ebay", "ebay-uk", "erika_uk", None, "ebay:erika_uk"),
        # a relay address seen on another channel is hidden too
        ("magento", "m2", "5", "x@marketplace.amazon.co.uk", "magento:5"),
        # a shop's customer number alone counts on its own account
        ("shopify", "shop-de", "77", None, "shopify:shop-de:77"),
        ("shopify", "shop-de", None, "not an e-mail", None),
        ("pos", "pos", None, None, None),
    ],
)
def test_identity_of(
    kind: str, account: str, customer_id: str | None, email: str | None, identity: str | None
) -> None:
    assert identity_of(kind, account, customer_id, email) == identity
