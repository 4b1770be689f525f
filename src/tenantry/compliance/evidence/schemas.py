"""Evidence shapes: what the API returns and the link it takes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    assessment_id: uuid.UUID
    kind: Literal["file", "link"]
    name: str = Field(description="Display name: a file's sanitised name, or a link's title")
    url: str | None = Field(default=None, description="Links: the http(s) address")
    content_type: str | None = Field(default=None, description="Files: decided from the bytes")
    size: int | None = Field(default=None, description="Files: bytes")
    sha256: str | None = Field(default=None, description="Files: hex SHA-256 of the bytes")
    uploaded_by_name: str
    created_at: datetime
    removed_at: datetime | None = None
    removed_by_name: str | None = None


class EvidenceLinkIn(BaseModel):
    url: str = Field(max_length=4096, description="An http:// or https:// address")
    name: str | None = Field(
        default=None, max_length=1000, description="A title; default: the address's host and path"
    )


class EvidenceStorageOut(BaseModel):
    used_bytes: int = Field(description="Bytes of evidence files the tenant stores now")
    max_file_bytes: int = Field(description="The largest file accepted")
