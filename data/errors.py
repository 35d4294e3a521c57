"""The domain's errors. The API maps them to status codes in one handler, the pages to a notification."""

from __future__ import annotations


class DomainError(Exception):
    """`field` names the first field at fault (the API's answer carries it); `fields` says what is wrong
    with each field at fault, so a form can show every problem beside its field at once."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields) if fields else ({field: message} if field else {})
        self.field = field or next(iter(self.fields), None)


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Stale(Conflict):
    """A change based on a version of the row that someone else has replaced since (409): nothing was written,
    so what the caller sent is still theirs to keep or drop after looking at the newer version."""


class Invalid(DomainError):
    status_code = 422


class Unauthorized(DomainError):
    status_code = 401


class TooLarge(DomainError):
    """More data than the server takes in one piece (413): the message says the limit."""

    status_code = 413


class Busy(DomainError):
    """Another writer holds the database (a long import, a backup); nothing was changed, trying again works."""

    status_code = 503

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(
            message
            or "The database is busy with a long change (an import or a backup) and nothing was changed: "
            "try again in a moment.",
            field=field,
        )
