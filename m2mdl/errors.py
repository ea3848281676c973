"""Every error m2mdl reports to a user: one base class, an exit code and a hint per class.

This module imports nothing from m2mdl, so every other module may raise these. The CLI turns
them into one line on stderr (plus a hint) and the class's exit code, in exactly one place.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Process exit codes, documented in the README for cron users."""

    OK = 0
    BUG = 1  # an unexpected error: a bug in m2mdl
    INPUT = 2  # bad flags, files or values (Click uses 2 for usage errors too)
    AUTH = 3  # not logged in, credentials rejected, no access
    API = 4  # the M2M API refused the request or answered garbage
    NETWORK = 5  # the network failed after every retry
    INCOMPLETE = 6  # some files failed or are still preparing; the manifest lists them
    INTERRUPTED = 130  # Ctrl-C or SIGTERM; .part files and the manifest are kept for a rerun


class M2mdlError(Exception):
    """Base of every error m2mdl reports to the user.

    Attributes:
        message: one line that names the problem.
        hint: one line that says what to do about it, or None.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.BUG
    default_hint: ClassVar[str | None] = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


# --- 2: input ---------------------------------------------------------------------------------


class InputError(M2mdlError):
    """A flag, file or value the user gave is not usable."""

    exit_code = ExitCode.INPUT


class ConfigError(InputError):
    """The config file cannot be read or holds a bad value."""


class AoiError(InputError):
    """An area of interest is malformed (names the offending value)."""


class LockedError(InputError):
    """Another m2mdl run is writing into the same output directory."""

    default_hint = "wait for the other run to finish, or choose another --out directory"


# --- 3: authentication ------------------------------------------------------------------------


class AuthError(M2mdlError):
    """Authentication failed or is impossible.

    Attributes:
        code: M2M's errorCode when the error came from the API (e.g. "AUTH_EXPIRED").
    """

    exit_code = ExitCode.AUTH

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class NotLoggedIn(AuthError):
    """No stored credentials and none in the environment."""

    default_hint = "run `m2mdl login`, or set M2MDL_USERNAME and M2MDL_TOKEN"


class CredentialsRejected(AuthError):
    """M2M refused the username and application token."""

    default_hint = (
        "check the username and the M2M application token (ERS profile > Application Tokens);"
        " tokens expire on the date chosen when they were made"
    )


class AccessDenied(AuthError):
    """The account lacks M2M or download access."""

    default_hint = (
        "request access in ERS (https://ers.cr.usgs.gov): Access Request >"
        " 'Access to EE's Machine to Machine interface (MACHINE)'; approval takes a few days"
    )


class CredentialStoreError(AuthError):
    """The keyring or the credentials file could not be read or written."""

    default_hint = "set M2MDL_USERNAME and M2MDL_TOKEN instead"


# --- 4: API -----------------------------------------------------------------------------------


class ApiError(M2mdlError):
    """The M2M API answered with an error.

    Attributes:
        endpoint: the endpoint called, e.g. "scene-search".
        code: M2M's errorCode (e.g. "DATASET_INVALID"), or None when the body had none.
        status: the HTTP status, when known.
    """

    exit_code = ExitCode.API

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        code: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.endpoint = endpoint
        self.code = code
        self.status = status


class RateLimited(ApiError):
    """M2M kept answering RATE_LIMIT* after the bounded backoff was spent."""

    default_hint = (
        "M2M allows one API request at a time per IP and 15,000 download requests per 15"
        " minutes; wait and run again"
    )


class UnexpectedResponse(ApiError):
    """The body was not a JSON M2M envelope (an HTML error page, an empty body, ...)."""


class DatasetNotFound(ApiError):
    """The dataset name is not known to M2M."""

    exit_code = ExitCode.INPUT


# --- 5: network -------------------------------------------------------------------------------


class NetworkError(M2mdlError):
    """The network failed (connection refused, DNS, TLS, timeouts) after every retry."""

    exit_code = ExitCode.NETWORK
    default_hint = "check the connection and run again; finished files are kept"


class InsecureUrl(InputError):
    """An https URL is required for anything but loopback."""


# --- 6: downloads -----------------------------------------------------------------------------


class DownloadError(M2mdlError):
    """One file could not be downloaded and verified."""

    exit_code = ExitCode.INCOMPLETE


class DownloadsIncomplete(DownloadError):
    """Some files failed or are still preparing; the manifest lists them."""

    default_hint = "run the same command again to resume; the manifest lists each file's state"


class DiskFull(DownloadError):
    """The output file system ran out of space."""

    default_hint = "free some space and run the same command again to resume"


# --- 130: interrupted -------------------------------------------------------------------------


class Interrupted(M2mdlError):
    """The run was interrupted by SIGINT or SIGTERM."""

    exit_code = ExitCode.INTERRUPTED
    default_hint = "run the same command again to resume"
