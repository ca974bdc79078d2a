"""Acme Market as a channelsync channel: the adapter docs/channels/writing-an-adapter.md
walks through.

::

    from acme_channel import AcmeChannel, AcmeConfig

    acme = AcmeChannel(AcmeConfig(account="acme-main", api_key="...", webhook_secret="..."))
"""

from acme_channel.channel import AcmeChannel
from acme_channel.config import AcmeConfig

__all__ = ["AcmeChannel", "AcmeConfig"]
