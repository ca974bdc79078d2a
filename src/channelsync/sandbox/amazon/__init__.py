"""The Amazon SP-API fake (``AmazonFake``) and its model validator (``SpApiModelValidator``)."""

from channelsync.sandbox.amazon.fake import PUBLISHED_RATE_LIMITS, AmazonFake
from channelsync.sandbox.amazon.validation import SpApiModelValidator

__all__ = ["PUBLISHED_RATE_LIMITS", "AmazonFake", "SpApiModelValidator"]
