"""What evidence may be, decided before anything is stored (pure functions).

* **Type, by the bytes.** ``filetype`` reads the magic bytes (for OOXML and ODF it looks
  inside the zip for the part that names the format); the type a browser or client
  claims, and the file's extension, are never trusted. Plain text and CSV have no magic
  bytes: they are accepted when the bytes hold no control characters and do not start
  as markup (an HTML page renamed ``.txt`` or ``.pdf`` is refused).
* **Names.** Path parts stripped (``../../etc/passwd`` is ``passwd``), unicode
  normalised (NFKC, so a full-width slash is a slash before path parts are stripped),
  control and format characters removed (a right-to-left override cannot make
  ``gnp.exe`` read as ``exe.png``), characters no file system accepts removed
  (``pathvalidate``), at most ``MAX_NAME_BYTES`` bytes with the extension kept, and the
  sniffed type's extension added when the name's does not match it.
* **Links.** http or https only, with a host and without a user name or password.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import filetype
from pathvalidate import sanitize_filename

from tenantry.errors import ValidationFailed

MAX_NAME_BYTES = 200
MAX_URL_LENGTH = 2048
MAX_LINK_NAME = 200

PDF = "application/pdf"
TEXT = "text/plain; charset=utf-8"
CSV = "text/csv; charset=utf-8"
TEXT_8BIT = "text/plain"
CSV_8BIT = "text/csv"

# Accepted types (as sniffed) → the extensions a name of that type may end with; the
# first is added to a name that ends otherwise.
ACCEPTED: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    TEXT: (".txt", ".log", ".md"),
    CSV: (".csv",),
    TEXT_8BIT: (".txt", ".log", ".md"),
    CSV_8BIT: (".csv",),
}
ACCEPTED_WORDS = (
    "PDF, PNG, JPEG, GIF, WebP, plain text or CSV, Word, Excel or PowerPoint (.docx, "
    ".xlsx, .pptx) and OpenDocument (.odt, .ods, .odp)"
)

# Bytes that never appear in a text file (NUL and the C0 controls but tab, LF, FF, CR,
# and DEL); ESC is allowed for logs with colour codes.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"
_MARKUP = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<svg",
    b"<?xml",
    b"<iframe",
    b"<!--",
    b"<meta",
    b"<a ",
    b"<img",
    b"<div",
    b"<style",
    b"<object",
)


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n\x0c").lower()
    return head.startswith(_MARKUP)


def _text_type(data: bytes, name: str) -> str | None:
    """The text type of ``data`` (CSV by the name's extension), or None if not text."""
    if len(data.translate(None, _CONTROL)) != len(data):
        return None
    is_csv = name.lower().endswith(".csv")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return CSV_8BIT if is_csv else TEXT_8BIT
    return CSV if is_csv else TEXT


def sniff(data: bytes, name: str = "", *, max_bytes: int, field: str = "file") -> str:
    """The content type of an evidence file from its bytes, or a 422 naming ``field``."""
    if not data:
        raise ValidationFailed(field, "is empty: choose a file with something in it")
    if len(data) > max_bytes:
        raise ValidationFailed(field, f"is larger than {describe_size(max_bytes)}")
    kind = filetype.guess(data)
    if kind is not None:
        mime = str(kind.mime)
        if mime in ACCEPTED:
            return mime
        raise ValidationFailed(
            field, f"is a .{kind.extension} file, which is not accepted; accepted: {ACCEPTED_WORDS}"
        )
    if _looks_like_markup(data):
        raise ValidationFailed(
            field, "is HTML or other markup, which is not accepted (it can carry script)"
        )
    text = _text_type(data, name)
    if text is None:
        raise ValidationFailed(field, f"is not a type accepted as evidence: {ACCEPTED_WORDS}")
    return text


def describe_size(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


def _truncate(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut between characters."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def _visible(text: str) -> str:
    """Without control, format, private-use and unassigned characters."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")


def clean_name(raw: str, content_type: str) -> str:
    """A safe display and download name for a file of ``content_type``."""
    name = unicodedata.normalize("NFKC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = sanitize_filename(_visible(name), platform="universal", max_len=1024)
    name = name.strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    allowed = ACCEPTED.get(content_type, ())
    suffix = f".{ext.lower()}" if ext else ""
    if allowed and suffix not in allowed:
        # Keep what the uploader wrote, and say what the file really is.
        stem, suffix = name, allowed[0]
    elif suffix:
        suffix = f".{ext}"
    stem = stem.strip() or "evidence"
    return _truncate(stem, MAX_NAME_BYTES - len(suffix.encode("utf-8"))).rstrip() + suffix


def check_url(raw: str, field: str = "url") -> str:
    """An http(s) link as given (trimmed), or a 422 naming ``field``."""
    url = (raw or "").strip()
    if not url:
        raise ValidationFailed(field, "is required")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(field, f"is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url):
        raise ValidationFailed(field, "must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationFailed(field, "is not a valid web address") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationFailed(field, "must be a web address starting with http:// or https://")
    if not host:
        raise ValidationFailed(field, "must name a host, like https://example.com/policy")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed(field, "must not carry a user name or password")
    return url


def link_name(raw: str | None, url: str, field: str = "name") -> str:
    """A link's title: the one given (one line, visible characters), else host and path."""
    text = " ".join(_visible(unicodedata.normalize("NFC", raw or "")).split())
    if not text:
        parts = urlsplit(url)
        text = f"{parts.hostname}{parts.path}".rstrip("/") or url
    if len(text) > MAX_LINK_NAME:
        if raw and raw.strip():
            raise ValidationFailed(field, f"is longer than {MAX_LINK_NAME} characters")
        text = text[: MAX_LINK_NAME - 1] + "…"
    return text
