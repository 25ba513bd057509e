"""Domain errors raised by services, mapped to the API error format in one place."""


class DomainError(Exception):
    """A rule of the domain refused the request. Nothing was changed."""

    status_code = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.errors = errors or {}
        # Further top-level members of the error body (e.g. `allowed` targets of a transition).
        self.extra = extra or {}


class NotAllowed(DomainError):
    """The caller's role may not do this."""

    status_code = 403
    code = "permission_denied"


class Conflict(DomainError):
    """The object is in a state that does not allow this (e.g. a refused transition)."""

    status_code = 409
    code = "conflict"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
