"""Every error the product raises on purpose.

One base class with a short ``title`` and a one-line ``message`` that the CLI prints and the dashboard shows
as is. ``exit_code`` is what the command line exits with: 2 for usage and settings errors, 1 for an
operation that failed.
"""

from __future__ import annotations

from dataclasses import dataclass


class ZtError(Exception):
    """Base of all expected errors: ``title`` names the kind, ``message`` says what happened and what to do."""

    title = "Error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ZtError):
    """Bad input from the user: a domain name, an argument, a value in a form."""

    title = "Invalid input"
    exit_code = 2


class ConfigError(UsageError):
    """The settings file cannot be read or holds something wrong; names the file, line or key."""

    title = "Settings error"


class NotFound(UsageError):
    """A certificate or provider that the settings do not have."""

    title = "Not found"


class OperationError(ZtError):
    """An operation that was tried and failed (exit 1)."""

    title = "Operation failed"


class Cancelled(OperationError):
    """The user (or SIGTERM) cancelled a running order."""

    title = "Cancelled"


class DeadlineExceeded(OperationError):
    """The CA did not finish the order before the per-order deadline."""

    title = "Timed out"


class CaUnreachable(OperationError):
    """The CA could not be reached or answered with something that is not ACME."""

    title = "CA unreachable"


class LockBusy(OperationError):
    """Another process holds the certificate's lock."""

    title = "Busy"


class StorageError(OperationError):
    """A file could not be read or written."""

    title = "Storage error"


class EabError(OperationError):
    """External Account Binding credentials are missing, malformed, or could not be fetched."""

    title = "EAB credentials"


class DnsError(OperationError):
    """A dns-01 step failed: a DNS provider refused or did not answer, or a record never became visible.
    The message names the DNS provider and never holds its secrets."""

    title = "DNS"


@dataclass(frozen=True)
class Subproblem:
    """One identifier's part of a compound ACME problem."""

    type: str
    detail: str
    identifier: str = ""

    def describe(self) -> str:
        """``identifier: detail`` in plain words."""
        prefix = f"{self.identifier}: " if self.identifier else ""
        return f"{prefix}{self.detail or short_type(self.type)}"


def short_type(problem_type: str) -> str:
    """``urn:ietf:params:acme:error:rateLimited`` -> ``rateLimited``."""
    return problem_type.rsplit(":", 1)[-1] if problem_type else "unknown"


class AcmeProblem(OperationError):
    """An RFC 7807 problem document from the CA, with its type, detail and subproblems."""

    title = "CA refused"
    validating = ""  # the domain whose validation the CA refused, when that is what this is

    def __init__(
        self, type: str, detail: str, subproblems: tuple[Subproblem, ...] = (), status: int = 0
    ) -> None:
        self.type = type
        self.detail = detail
        self.subproblems = subproblems
        self.status = status
        super().__init__(self._compose())

    @property
    def short_type(self) -> str:
        """The last part of the problem type, e.g. ``rateLimited``."""
        return short_type(self.type)

    def _compose(self) -> str:
        text = f"{self.short_type}: {self.detail}" if self.detail else self.short_type
        if self.subproblems:
            text += " (" + "; ".join(sp.describe() for sp in self.subproblems) + ")"
        return text


class RateLimited(AcmeProblem):
    """``rateLimited``: the CA asks us to wait ``retry_after`` seconds (None when it did not say)."""

    title = "Rate limited"

    def __init__(self, detail: str, retry_after: float | None, status: int = 429) -> None:
        self.retry_after = retry_after
        super().__init__("urn:ietf:params:acme:error:rateLimited", detail, (), status)


class EabRequired(AcmeProblem):
    """The CA requires External Account Binding and none was configured."""

    title = "EAB required"


class AccountDoesNotExist(AcmeProblem):
    """The CA no longer knows the account (for example a restarted test CA)."""

    title = "Account unknown"
