"""Errors of message delivery: one base class, each subclass naming its HTTP-neutral kind."""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError, ErrorKind, InvalidInput


class DeliveryError(DomainError):
    """Base of every expected failure of the outbox, its endpoints and its receipts."""


class InvalidDelivery(InvalidInput, DeliveryError):
    """A field is invalid (422 naming it), under this package's base."""


class MessageNotFound(DeliveryError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "message-not-found"
    title = "Message not found"


class EndpointNotFound(DeliveryError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "endpoint-not-found"
    title = "Endpoint not found"


class ReceiptRefused(DeliveryError):
    """A delivery receipt whose signature does not verify."""

    kind: ClassVar[ErrorKind] = "forbidden"
    code = "receipt-refused"
    title = "Receipt refused"


class MessageNotRetryable(DeliveryError):
    """Only a dead message with its body still kept can be sent again."""

    kind: ClassVar[ErrorKind] = "conflict"
    code = "message-not-retryable"
    title = "Message cannot be retried"
