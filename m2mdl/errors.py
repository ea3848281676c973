"""Every error m2mdl reports to a user: one base class, an exit code and a hint per class.

This module imports nothing from m2mdl, so every other module may raise these. The CLI turns
them into one line on stderr (plus a hint) and the class's exit code, in exactly one place.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from enum import IntEnum
from string import Template
from typing import ClassVar, TypeVar

_E = TypeVar("_E", bound="M2mdlError")
_P = TypeVar("_P", bound="ParameterError")


class ExitCode(IntEnum):
    """Process exit codes, documented in the README for cron users."""

    OK = 0
    BUG = 1  # an unexpected error: a bug in m2mdl
    ATTENTION = 1  # doctor only: a check needs attention (an alias: exit codes are numbers)
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

    def with_message(self: _E, message: str) -> _E:
        """A copy of this error (same class, code, hint and attributes) saying ``message``.

        Errors are never changed after they are built: code that wants to add to a message
        (``... (gave up after 5 attempts)``) raises such a copy instead.
        """
        return self._copy(message, self.hint)

    def _copy(self: _E, message: str, hint: str | None) -> _E:
        """A copy of this error with ``message`` and ``hint``; every other attribute is kept."""
        copy = type(self).__new__(type(self), message)
        copy.__dict__.update(self.__dict__)
        copy.message = message
        copy.hint = hint
        return copy


# --- 2: input ---------------------------------------------------------------------------------


class InputError(M2mdlError):
    """A flag, file or value the user gave is not usable."""

    exit_code = ExitCode.INPUT


class _Spelling(dict[str, str]):
    """Names for ``${param}`` placeholders; a name not listed reads as itself."""

    def __missing__(self, key: str) -> str:
        return key


def spell(template: str, names: Mapping[str, str] | None = None) -> str:
    """A :class:`ParameterError` template with each ``${name}`` spelled as ``names`` spells it
    (a name not in ``names`` reads as itself, so ``spell(t)`` is the Python caller's wording)."""
    return Template(template).safe_substitute(_Spelling(names or {}))


class ParameterError(InputError):
    """A bad value for named parameters of a use case (the Python API and the CLI share them).

    The message and the hint are :class:`string.Template` text whose ``${name}`` placeholders
    are parameter names: a message reads ``start 2021-01-01 is after end 2020-01-01`` to a
    Python caller, and the CLI re-spells message and hint with its flags (``--start ...``)
    through :meth:`spelled`, in one place. A literal ``$`` in a value must be written ``$$``
    (:func:`literal`). A subclass's ``default_hint`` is a template too.

    Attributes:
        template: the message with its placeholders.
        hint_template: the hint with its placeholders, or None.
    """

    def __init__(self, template: str, *, hint: str | None = None) -> None:
        self.template = template
        self.hint_template = hint if hint is not None else self.default_hint
        hint_text = spell(self.hint_template) if self.hint_template is not None else None
        super().__init__(spell(template), hint=hint_text)

    def with_message(self: _P, message: str) -> _P:
        """A copy saying ``message``, plain text that :meth:`spelled` leaves as it is."""
        return self._templated(literal(message), self.hint_template)

    def spelled(self: _P, names: Mapping[str, str]) -> _P:
        """A copy whose message and hint name each parameter as ``names`` spells it."""
        hint = spell(self.hint_template, names) if self.hint_template is not None else None
        return self._copy(spell(self.template, names), hint)

    def prefixed(self: _P, prefix: str) -> _P:
        """A copy whose message starts with ``prefix`` (plain text, not a template), e.g. the
        place in a file the error comes from."""
        return self._templated(literal(prefix) + self.template, self.hint_template)

    def _templated(self: _P, template: str, hint_template: str | None) -> _P:
        """A copy built from new templates, read as a Python caller reads them."""
        hint = spell(hint_template) if hint_template is not None else None
        copy = self._copy(spell(template), hint)
        copy.template, copy.hint_template = template, hint_template
        return copy


def literal(value: object) -> str:
    """``str(value)`` made safe to put in a :class:`ParameterError` template."""
    return str(value).replace("$", "$$")


class ConfigError(InputError):
    """The config file cannot be read or holds a bad value."""


class AoiError(InputError):
    """An area of interest is malformed (names the offending value)."""


class NotAnArea(ParameterError, AoiError):
    """A Point or a line was given where an area belongs.

    A :class:`ParameterError` too: its advice names how to make an area around a point, a
    function to a Python caller and a command to a CLI user (``${aoi_from_point}``).
    """


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


class DatasetUnavailable(AccessDenied):
    """The dataset exists but this account may not use it (``DATASET_AUTH``): a retired
    Collection 1 dataset, or one with an access request of its own (docs/design.md,
    "datasets")."""

    default_hint = (
        "Collection 1 datasets (landsat_8_c1, ...) are retired: use the Collection 2 dataset"
        " (landsat_ot_c2_l2 for Landsat 8-9 Level-2); any other dataset needs its own access"
        " request in ERS (https://ers.cr.usgs.gov)"
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


class PathError(InputError):
    """A file or directory the user named cannot be used (it names the path)."""


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


class OutputClosed(InputError):
    """stdout was closed before m2mdl finished writing to it (a pipe reader quit, ``>&-``).

    Attributes:
        quiet: print nothing (a pipe reader such as ``head`` that had enough).
    """

    def __init__(self, message: str, *, quiet: bool) -> None:
        super().__init__(message)
        self.quiet = quiet


# --- OSError -> M2mdlError ---------------------------------------------------------------------

#: Out of blocks, of inodes (also ENOSPC) or of quota.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: What each path errno means, in the words of the one-line message.
_PATH_PROBLEMS = {
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EEXIST: "it exists and is not a directory",
    errno.EISDIR: "it is a directory",
    errno.ENAMETOOLONG: "a name in the path is too long for the file system",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or directory",
    errno.ELOOP: "too many symbolic links",
    errno.ENXIO: "no such device",
    errno.ENODEV: "no such device",
    errno.ETXTBSY: "the file is busy",
}


def disk_full(path: object | None = None) -> DiskFull:
    """The full-disk error (exit 6), naming the path when it is known."""
    where = f"the device of {path}" if path else "a device m2mdl writes to"
    return DiskFull(f"no space left on {where} (disk, inodes or quota full)")


def from_os_error(exc: OSError) -> M2mdlError | None:
    """The user-facing error for an OSError a user or the OS can cause, or None for a bug.

    Full disk or quota: :class:`DiskFull` (exit 6). stdout closed (EPIPE, EBADF on the
    standard output): :class:`OutputClosed` (exit 2). A path that cannot be used (a file
    where a directory belongs, a name over NAME_MAX, a read-only file system, a directory
    given as an output file, ...): :class:`PathError` (exit 2), naming the path.
    """
    code = exc.errno
    if code in NO_SPACE_ERRNOS:
        return disk_full(exc.filename)
    if isinstance(exc, BrokenPipeError) or code == errno.EPIPE:
        return OutputClosed("the standard output was closed (broken pipe)", quiet=True)
    if code == errno.EBADF and exc.filename is None:
        return OutputClosed("the standard output is closed; nothing could be written", quiet=False)
    problem = _PATH_PROBLEMS.get(code) if code is not None else None
    if exc.filename is None:
        if problem is None:
            return None
        return PathError(f"cannot use a file: {problem}")
    path = os.fsdecode(exc.filename)
    return PathError(f"{path}: {problem or exc.strerror or 'cannot be used'}")


# --- 130: interrupted -------------------------------------------------------------------------


class Interrupted(M2mdlError):
    """The run was interrupted by SIGINT or SIGTERM."""

    exit_code = ExitCode.INTERRUPTED
    default_hint = "run the same command again to resume"
