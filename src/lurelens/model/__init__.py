"""The message model and the verdict: what parsing produces and what checks and outputs read."""

from lurelens.model.features import ClusterFeatures
from lurelens.model.message import (
    Address,
    Attachment,
    AuthorField,
    AuthorReading,
    AuthorReadings,
    AuthResult,
    Defect,
    Link,
    Message,
    Part,
    RemoteResource,
)
from lurelens.model.verdict import SCHEMA_VERSION, Finding, Verdict

__all__ = [
    "Address",
    "Attachment",
    "AuthResult",
    "ClusterFeatures",
    "AuthorField",
    "AuthorReading",
    "AuthorReadings",
    "Defect",
    "Finding",
    "Link",
    "Message",
    "Part",
    "RemoteResource",
    "SCHEMA_VERSION",
    "Verdict",
]
