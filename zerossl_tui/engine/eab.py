"""External Account Binding: check given credentials, and fetch them from ZeroSSL's REST API.

ZeroSSL hands out EAB credentials for an email address (``/acme/eab-credentials-email``) or for an API
access key (``/acme/eab-credentials?access_key=KEY``). The access key sits in the URL, so no URL of this
module ever reaches an error message: requests' own exceptions (which quote the URL) are replaced.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import EabError, UsageError
from ..core.schema import ZEROSSL_API
from ..core.validate import check_eab_hmac  # the one base64url check, shared with the CLI and forms

FETCH_TIMEOUT = 20.0
__all__ = ["ZEROSSL_API", "check_eab_hmac", "fetch_zerossl_eab"]

# https://zerossl.com/documentation/acme/error-codes and /api/error-codes
ZEROSSL_ERRORS = {
    101: "the ZeroSSL API access key is not valid: copy it again from the ZeroSSL dashboard (Developer)",
    102: "the ZeroSSL account of this access key is not active",
    2902: "ZeroSSL cannot create EAB credentials right now (maintenance?): try again later",
    2903: "ZeroSSL could not save the EAB credentials: try again",
    2904: "too many EAB credentials were created today for this ZeroSSL account: reuse the ones you have "
    "(`zerossl-tui provider add zerossl --eab-kid K --eab-hmac-key H`) or try again tomorrow",
    2905: "too many EAB credentials were created for this ZeroSSL user: reuse the ones you have "
    "(`zerossl-tui provider add zerossl --eab-kid K --eab-hmac-key H`)",
}


def fetch_zerossl_eab(
    email: str = "",
    api_key: str = "",
    *,
    base_url: str = ZEROSSL_API,
    session: Any = None,
    verify: str | bool = True,
    timeout: float = FETCH_TIMEOUT,
) -> tuple[str, str]:
    """(kid, hmac_key) from ZeroSSL, by API access key when given, else by email; EabError when it fails.

    ``session`` is a ``requests.Session`` (a fresh one when None); ``base_url`` points tests at a fake."""
    import requests

    if not api_key and not email:
        raise EabError("ZeroSSL EAB credentials need an email address or an API access key")
    base = _https_only(base_url)
    http = session or requests.Session()
    try:
        if api_key:
            url, data = f"{base}/acme/eab-credentials", None
            params: dict[str, str] | None = {"access_key": api_key}
        else:
            url, data, params = f"{base}/acme/eab-credentials-email", {"email": email}, None
        response = http.post(url, data=data, params=params, timeout=timeout, verify=verify)
    except requests.exceptions.SSLError:
        raise EabError("TLS check of the ZeroSSL API failed: check the system clock and CA store") from None
    except requests.exceptions.RequestException as exc:
        raise EabError(f"cannot reach the ZeroSSL API ({_reason(exc)}): check the network") from None
    finally:
        if session is None:
            http.close()
    return _read_answer(response)


def _https_only(base_url: str) -> str:
    """``base_url`` without a trailing slash; EabError unless it is https (the access key and the email
    travel in the request, and the answer holds the HMAC key)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise EabError(
            "the ZeroSSL API URL must start with https:// (the API key would travel in clear): "
            "unset ZEROSSL_TUI_ZEROSSL_API or give it an https:// URL"
        )
    return base_url.rstrip("/")


def _read_answer(response: Any) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise EabError(f"the ZeroSSL API answered HTTP {response.status_code} with something not JSON")
    if body.get("success") and body.get("eab_kid") and body.get("eab_hmac_key"):
        try:
            return str(body["eab_kid"]), check_eab_hmac(str(body["eab_hmac_key"]))
        except UsageError:
            raise EabError("the ZeroSSL API answered with an EAB HMAC key that is not base64url") from None
    error = body.get("error")
    if not isinstance(error, dict):
        error = {}
    raise EabError(_error_message(error, response.status_code))


def _error_message(error: dict[str, Any], status: int) -> str:
    code = error.get("code")
    kind = str(error.get("type") or "").replace("_", " ")
    known = ZEROSSL_ERRORS.get(code) if isinstance(code, int) else None
    if known:
        return f"ZeroSSL refused to create EAB credentials: {known}"
    what = f"{kind} (code {code})" if kind or code else f"HTTP {status}, no error given"
    return f"ZeroSSL refused to create EAB credentials: {what}"


def _reason(exc: BaseException) -> str:
    """A URL-free name for a requests failure."""
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed"
    return type(exc).__name__
