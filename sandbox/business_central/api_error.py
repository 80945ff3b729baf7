"""The one exception the emulator raises for a request BC would refuse."""

from __future__ import annotations


class ApiError(Exception):
    """A refusal in Business Central's terms, turned into an error response at the boundary.

    Attributes:
        status: the HTTP status BC answers with.
        code: BC's category-prefixed error code, such as `Request_EntityChanged`.
        message: the message, without the trailing correlation id (added by `bc_error`).
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        """Keep the three parts of the refusal."""
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str, code: str = "BadRequest") -> ApiError:
    """Return a 400 refusal; most query and payload mistakes use the plain `BadRequest` code."""
    return ApiError(400, code, message)
