"""Moved to ``tenantry.kit.pagination``; kept while call sites move (removed after)."""

from tenantry.kit.pagination import (
    MAX_LIMIT,
    Page,
    check_limit,
    decode_cursor,
    encode_cursor,
)

__all__ = ["MAX_LIMIT", "Page", "check_limit", "decode_cursor", "encode_cursor"]
