"""The registration: what the entry point ``acme`` names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "doctor_checks"]


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """Acme's API has one version."""
    return [DoctorCheck("API version", "ok", "Acme Market API v1")]


PLUGIN = AdapterPlugin(
    kind="acme",
    title="Acme Market",
    config="acme_channel.config:AcmeConfig",
    channel="acme_channel.channel:AcmeChannel",
    fake="acme_channel.fake:AcmeFake",
    sandbox_account="acme_channel.fake:sandbox_account",
    doctor="acme_channel._plugin:doctor_checks",
    permissions="create the API key with the scopes listings:write and orders:write",
    webhooks=True,
)
