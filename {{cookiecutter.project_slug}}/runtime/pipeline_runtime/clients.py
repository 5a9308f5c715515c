# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""AWS clients a function's threads share: each made once, under a lock (boto3 does not make them safely
across threads), on first use, so tests and local runs set their endpoints first.

Each AWS call is retried by botocore alone, in its standard mode (throttling and transient errors, with
jittered backoff: 10 attempts for DynamoDB, 3 for the others); what still fails is retried by the layer
that owns the record: the durable step around it, or SQS redelivering the message."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

ATTEMPTS = {"dynamodb": 10}  # as boto3's legacy mode gave DynamoDB, whose throttling is the usual failure; else 3
_lock = threading.Lock()
_clients: dict[str, Any] = {}
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


def client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            retries = {"mode": "standard", "total_max_attempts": ATTEMPTS.get(service, 3)}
            _clients[service] = boto3.client(service, config=Config(retries=retries))
        return _clients[service]


def reset() -> None:
    """Forget every client: the next use makes new ones (tests, after moving their endpoints)."""
    with _lock:
        _clients.clear()


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}
