"""Retry policy shared by every client that talks to servers (the checker, the Wayback client)."""

from __future__ import annotations

from datetime import datetime, timezone


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date).

    None when the header is absent or unparsable: the caller's own backoff
    then applies. A date in the past means "now" (0 seconds). Callers cap it.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = http_date(value)
    if when is None:
        return None
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def http_date(value: str) -> datetime | None:
    """An HTTP date (``Retry-After``, a cookie's ``Expires``) as an aware datetime; None when unreadable.

    RFC 9110 dates are GMT, so a zone-less one is read as such.
    """
    from email.utils import parsedate_to_datetime  # only for the rare HTTP-date form (~5 ms to import)

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
