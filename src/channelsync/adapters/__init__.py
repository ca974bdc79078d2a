"""One package per channel: ``client.py`` (wire), ``mapping.py`` (pure payload <-> model),
``channel.py`` (the ``Channel``), ``webhooks.py``; shared httpx, paging, pacing and webhook
helpers beside them (``_http``, ``_paging``, ``_ratelimit``, ``_webhooks``).

Import each adapter from its own package (``channelsync.adapters.shopify``): its optional
dependencies load only then.
"""
