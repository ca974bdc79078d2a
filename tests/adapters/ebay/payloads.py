"""Trading API XML payloads for the eBay tests.

eBay publishes no machine-readable Trading samples that could be collected (see
../shared/conformance/SOURCES.md, "Gaps"), so these are built from the documented schema
fields of ``GetOrdersResponseType`` / ``OrderType`` / ``TransactionType``,
``GetMyeBaySellingResponseType`` / ``ItemType`` / ``VariationType`` and
``ReviseInventoryStatusResponseType`` / ``InventoryStatusType``, in eBay's element order.
"""

from __future__ import annotations

NS = 'xmlns="urn:ebay:apis:eBLBaseComponents"'

#: A paid, unshipped order with two transactions: a variation SKU (which wins over the
#: listing's own SKU) and a plain listing; umlauts, an ampersand and an escaped "<" in the
#: address and titles.
TWO_LINE_ORDER = """
<Order>
  <OrderID>05-11111-22222</OrderID>
  <OrderStatus>Completed</OrderStatus>
  <AdjustmentAmount currencyID="EUR">0.0</AdjustmentAmount>
  <AmountPaid currencyID="EUR">64.97</AmountPaid>
  <AmountSaved currencyID="EUR">0.0</AmountSaved>
  <CheckoutStatus>
    <eBayPaymentStatus>NoPaymentFailure</eBayPaymentStatus>
    <LastModifiedTime>2026-11-20T10:15:00.000Z</LastModifiedTime>
    <PaymentMethod>CreditCard</PaymentMethod>
    <Status>Complete</Status>
    <IntegratedMerchantCreditCardEnabled>false</IntegratedMerchantCreditCardEnabled>
  </CheckoutStatus>
  <ShippingDetails>
    <SellingManagerSalesRecordNumber>1042</SellingManagerSalesRecordNumber>
  </ShippingDetails>
  <CreatedTime>2026-11-20T10:00:00.000Z</CreatedTime>
  <PaymentMethods>CreditCard</PaymentMethods>
  <ShippingAddress>
    <Name>Jörg Müller &amp; Söhne</Name>
    <Street1>Königsallee 12 &lt;Hinterhaus&gt;</Street1>
    <Street2>c/o Bäckerei Weiß</Street2>
    <CityName>Düsseldorf</CityName>
    <StateOrProvince>Nordrhein-Westfalen</StateOrProvince>
    <Country>DE</Country>
    <CountryName>Deutschland</CountryName>
    <Phone>Invalid Request</Phone>
    <PostalCode>40212</PostalCode>
    <AddressOwner>eBay</AddressOwner>
  </ShippingAddress>
  <ShippingServiceSelected>
    <ShippingService>DE_DHLPaket</ShippingService>
    <ShippingServiceCost currencyID="EUR">4.99</ShippingServiceCost>
  </ShippingServiceSelected>
  <Subtotal currencyID="EUR">59.98</Subtotal>
  <Total currencyID="EUR">64.97</Total>
  <TransactionArray>
    <Transaction>
      <Buyer>
        <Email>joerg@example.de</Email>
        <UserFirstName>Jörg</UserFirstName>
        <UserLastName>Müller</UserLastName>
      </Buyer>
      <CreatedDate>2026-11-20T10:00:00.000Z</CreatedDate>
      <Item>
        <ItemID>110000000011</ItemID>
        <Site>Germany</Site>
        <Title>T-Shirt „Grün &amp; Blau“</Title>
        <SKU>SHIRT-PARENT</SKU>
      </Item>
      <QuantityPurchased>2</QuantityPurchased>
      <Status><PaymentHoldStatus>None</PaymentHoldStatus></Status>
      <TransactionID>2900000000101</TransactionID>
      <TransactionPrice currencyID="EUR">19.99</TransactionPrice>
      <Taxes>
        <TotalTaxAmount currencyID="EUR">6.38</TotalTaxAmount>
      </Taxes>
      <Variation>
        <SKU>SHIRT-GREEN-M</SKU>
        <VariationTitle>T-Shirt „Grün &amp; Blau“[Grün,M]</VariationTitle>
      </Variation>
      <OrderLineItemID>110000000011-2900000000101</OrderLineItemID>
    </Transaction>
    <Transaction>
      <CreatedDate>2026-11-20T10:00:00.000Z</CreatedDate>
      <Item>
        <ItemID>110000000012</ItemID>
        <Site>Germany</Site>
        <Title>Tasse &lt;Weiß&gt;</Title>
        <SKU>MUG-WHITE</SKU>
      </Item>
      <QuantityPurchased>1</QuantityPurchased>
      <TransactionID>2900000000102</TransactionID>
      <TransactionPrice currencyID="EUR">20.00</TransactionPrice>
      <OrderLineItemID>110000000012-2900000000102</OrderLineItemID>
    </Transaction>
  </TransactionArray>
  <BuyerUserID>joerg_m</BuyerUserID>
  <PaidTime>2026-11-20T10:05:00.000Z</PaidTime>
  <CancelStatus>NotApplicable</CancelStatus>
</Order>
"""

#: Checkout not complete, no PaidTime: units are committed, but the order is pending.
UNPAID_ORDER = """
<Order>
  <OrderID>05-33333-44444</OrderID>
  <OrderStatus>Active</OrderStatus>
  <CheckoutStatus>
    <eBayPaymentStatus>NoPaymentFailure</eBayPaymentStatus>
    <LastModifiedTime>2026-11-21T08:00:00.000Z</LastModifiedTime>
    <Status>Incomplete</Status>
  </CheckoutStatus>
  <CreatedTime>2026-11-21T08:00:00.000Z</CreatedTime>
  <Total currencyID="USD">12.50</Total>
  <TransactionArray>
    <Transaction>
      <Item><ItemID>120000000001</ItemID><SKU>CAP-RED</SKU><Title>Cap</Title></Item>
      <QuantityPurchased>1</QuantityPurchased>
      <TransactionID>0</TransactionID>
      <TransactionPrice currencyID="USD">12.50</TransactionPrice>
      <OrderLineItemID>120000000001-0</OrderLineItemID>
    </Transaction>
  </TransactionArray>
  <BuyerUserID>cap_buyer</BuyerUserID>
  <CancelStatus>NotApplicable</CancelStatus>
</Order>
"""

#: One of two transactions shipped (Transaction.ShippedTime), with tracking.
PARTLY_SHIPPED_ORDER = """
<Order>
  <OrderID>05-55555-66666</OrderID>
  <OrderStatus>Completed</OrderStatus>
  <CheckoutStatus>
    <LastModifiedTime>2026-11-21T09:00:00.000Z</LastModifiedTime>
    <Status>Complete</Status>
  </CheckoutStatus>
  <CreatedTime>2026-11-21T08:30:00.000Z</CreatedTime>
  <Total currencyID="EUR">30.00</Total>
  <TransactionArray>
    <Transaction>
      <Item><ItemID>130000000001</ItemID><SKU>A-1</SKU></Item>
      <QuantityPurchased>1</QuantityPurchased>
      <TransactionID>1</TransactionID>
      <TransactionPrice currencyID="EUR">10.00</TransactionPrice>
      <ShippingDetails>
        <ShipmentTrackingDetails>
          <ShippingCarrierUsed>DHL</ShippingCarrierUsed>
          <ShipmentTrackingNumber>00340434161094042557</ShipmentTrackingNumber>
        </ShipmentTrackingDetails>
      </ShippingDetails>
      <ShippedTime>2026-11-22T07:00:00.000Z</ShippedTime>
      <OrderLineItemID>130000000001-1</OrderLineItemID>
    </Transaction>
    <Transaction>
      <Item><ItemID>130000000002</ItemID><SKU>B-2</SKU></Item>
      <QuantityPurchased>2</QuantityPurchased>
      <TransactionID>2</TransactionID>
      <TransactionPrice currencyID="EUR">10.00</TransactionPrice>
      <OrderLineItemID>130000000002-2</OrderLineItemID>
    </Transaction>
  </TransactionArray>
  <BuyerUserID>partial_buyer</BuyerUserID>
  <PaidTime>2026-11-21T08:31:00.000Z</PaidTime>
</Order>
"""

#: Cancelled after payment, refunded.
CANCELLED_ORDER = """
<Order>
  <OrderID>05-77777-88888</OrderID>
  <OrderStatus>Cancelled</OrderStatus>
  <CheckoutStatus>
    <LastModifiedTime>2026-11-21T11:00:00.000Z</LastModifiedTime>
    <Status>Complete</Status>
  </CheckoutStatus>
  <CreatedTime>2026-11-21T10:00:00.000Z</CreatedTime>
  <Total currencyID="GBP">15.00</Total>
  <TransactionArray>
    <Transaction>
      <Item><ItemID>140000000001</ItemID><SKU>GB-1</SKU></Item>
      <QuantityPurchased>3</QuantityPurchased>
      <TransactionID>7</TransactionID>
      <TransactionPrice currencyID="GBP">5.00</TransactionPrice>
      <OrderLineItemID>140000000001-7</OrderLineItemID>
    </Transaction>
  </TransactionArray>
  <BuyerUserID>gb_buyer</BuyerUserID>
  <PaidTime>2026-11-21T10:01:00.000Z</PaidTime>
  <CancelStatus>CancelComplete</CancelStatus>
  <MonetaryDetails>
    <Refunds>
      <Refund>
        <RefundStatus>Successful</RefundStatus>
        <RefundAmount currencyID="GBP">-15.00</RefundAmount>
        <RefundTime>2026-11-21T11:00:00.000Z</RefundTime>
        <ReferenceID>REF-9</ReferenceID>
      </Refund>
    </Refunds>
  </MonetaryDetails>
</Order>
"""


def get_orders_response(*orders: str, has_more: bool = False, page: int = 1) -> bytes:
    """A GetOrdersResponse holding ``orders``."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><GetOrdersResponse {NS}>'
        "<Timestamp>2026-11-23T12:00:00.000Z</Timestamp><Ack>Success</Ack>"
        "<Version>1423</Version><Build>E1423</Build>"
        "<PaginationResult><TotalNumberOfPages>2</TotalNumberOfPages>"
        "<TotalNumberOfEntries>3</TotalNumberOfEntries></PaginationResult>"
        f"<HasMoreOrders>{'true' if has_more else 'false'}</HasMoreOrders>"
        f"<OrderArray>{''.join(orders)}</OrderArray>"
        f"<OrdersPerPage>2</OrdersPerPage><PageNumber>{page}</PageNumber>"
        f"<ReturnedOrderCountActual>{len(orders)}</ReturnedOrderCountActual>"
        "</GetOrdersResponse>"
    ).encode()


#: GetMyeBaySelling ActiveList: a plain listing, a two-variation listing, an auction (not
#: synced) and a listing without SKU (not synced).
MY_EBAY_SELLING = f"""<?xml version="1.0" encoding="UTF-8"?>
<GetMyeBaySellingResponse {NS}>
  <Timestamp>2026-11-23T12:00:00.000Z</Timestamp>
  <Ack>Success</Ack>
  <Version>1423</Version>
  <Build>E1423</Build>
  <ActiveList>
    <ItemArray>
      <Item>
        <BuyItNowPrice currencyID="EUR">0.0</BuyItNowPrice>
        <ItemID>110000000012</ItemID>
        <ListingType>FixedPriceItem</ListingType>
        <Quantity>10</Quantity>
        <SellingStatus>
          <CurrentPrice currencyID="EUR">20.00</CurrentPrice>
          <QuantitySold>3</QuantitySold>
        </SellingStatus>
        <Title>Tasse &lt;Weiß&gt; &amp; Untersetzer</Title>
        <SKU>MUG-WHITE</SKU>
        <QuantityAvailable>7</QuantityAvailable>
      </Item>
      <Item>
        <ItemID>110000000011</ItemID>
        <ListingType>FixedPriceItem</ListingType>
        <Quantity>9</Quantity>
        <SellingStatus>
          <CurrentPrice currencyID="EUR">19.99</CurrentPrice>
          <QuantitySold>2</QuantitySold>
        </SellingStatus>
        <Title>T-Shirt</Title>
        <Variations>
          <Variation>
            <SKU>SHIRT-GREEN-M</SKU>
            <StartPrice currencyID="EUR">19.99</StartPrice>
            <Quantity>5</Quantity>
            <SellingStatus><QuantitySold>2</QuantitySold></SellingStatus>
            <VariationTitle>T-Shirt[Grün,M]</VariationTitle>
          </Variation>
          <Variation>
            <SKU>SHIRT-GREEN-L</SKU>
            <StartPrice currencyID="EUR">21.99</StartPrice>
            <Quantity>4</Quantity>
            <SellingStatus><QuantitySold>0</QuantitySold></SellingStatus>
            <VariationTitle>T-Shirt[Grün,L]</VariationTitle>
          </Variation>
        </Variations>
      </Item>
      <Item>
        <ItemID>110000000013</ItemID>
        <ListingType>Chinese</ListingType>
        <Quantity>1</Quantity>
        <SKU>AUCTION-1</SKU>
      </Item>
      <Item>
        <ItemID>110000000014</ItemID>
        <ListingType>FixedPriceItem</ListingType>
        <Quantity>1</Quantity>
        <Title>No SKU</Title>
      </Item>
    </ItemArray>
    <PaginationResult>
      <TotalNumberOfPages>3</TotalNumberOfPages>
      <TotalNumberOfEntries>12</TotalNumberOfEntries>
    </PaginationResult>
  </ActiveList>
</GetMyeBaySellingResponse>
""".encode()

#: Two items revised, one refused (an ItemID eBay does not know): Ack Failure all the same.
REVISE_MIXED = f"""<?xml version="1.0" encoding="UTF-8"?>
<ReviseInventoryStatusResponse {NS}>
  <Timestamp>2026-11-23T12:00:00.000Z</Timestamp>
  <Ack>Failure</Ack>
  <Errors>
    <ShortMessage>Item cannot be accessed.</ShortMessage>
    <LongMessage>This item cannot be accessed because the listing has been deleted.</LongMessage>
    <ErrorCode>17</ErrorCode>
    <SeverityCode>Error</SeverityCode>
    <ErrorParameters ParamID="0"><Value>999999999999</Value></ErrorParameters>
    <ErrorClassification>RequestError</ErrorClassification>
  </Errors>
  <Version>1423</Version>
  <Build>E1423</Build>
  <InventoryStatus>
    <SKU>MUG-WHITE</SKU>
    <ItemID>110000000012</ItemID>
    <StartPrice currencyID="EUR">20.00</StartPrice>
    <Quantity>8</Quantity>
  </InventoryStatus>
  <InventoryStatus>
    <SKU>SHIRT-GREEN-M</SKU>
    <ItemID>110000000011</ItemID>
    <StartPrice currencyID="EUR">19.99</StartPrice>
    <Quantity>6</Quantity>
  </InventoryStatus>
</ReviseInventoryStatusResponse>
""".encode()


def failure(call: str, code: str, message: str, classification: str = "RequestError") -> bytes:
    """A call-level ``Ack=Failure`` answer."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{call}Response {NS}>'
        "<Timestamp>2026-11-23T12:00:00.000Z</Timestamp><Ack>Failure</Ack>"
        f"<Errors><ShortMessage>{message}</ShortMessage><LongMessage>{message}</LongMessage>"
        f"<ErrorCode>{code}</ErrorCode><SeverityCode>Error</SeverityCode>"
        f"<ErrorClassification>{classification}</ErrorClassification></Errors>"
        f"<Version>1423</Version><Build>E1423</Build></{call}Response>"
    ).encode()


def with_ack(call: str, ack: str, body: str = "", warning: str | None = None) -> bytes:
    """An answer with ``ack`` (and a Warning-severity error)."""
    errors = (
        f"<Errors><ShortMessage>{warning}</ShortMessage><LongMessage>{warning}</LongMessage>"
        "<ErrorCode>21917091</ErrorCode><SeverityCode>Warning</SeverityCode>"
        "<ErrorClassification>RequestError</ErrorClassification></Errors>"
        if warning
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{call}Response {NS}>'
        f"<Timestamp>2026-11-23T12:00:00.000Z</Timestamp><Ack>{ack}</Ack>{errors}"
        f"<Version>1423</Version><Build>E1423</Build>{body}</{call}Response>"
    ).encode()
