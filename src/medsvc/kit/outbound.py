"""Sending to endpoints others run (a hospital's notification endpoint, the city's message
gateway): one POST whose failure says why, and the wait before the next try."""

from datetime import timedelta

import httpx

FIRST_RETRY, LONGEST_WAIT = timedelta(seconds=5), timedelta(hours=1)


def post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], timeout: float
) -> str | None:
    """Sends; None when the endpoint took it (2xx), else why not (never the body)."""
    try:
        response = client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def retry_wait(attempts: int) -> timedelta:
    """5 s after the first failure, doubling, at most an hour."""
    wait: timedelta = FIRST_RETRY * 2 ** min(attempts, 12)
    return min(wait, LONGEST_WAIT)
