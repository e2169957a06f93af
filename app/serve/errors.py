"""HTTP errors as OpenAI's clients expect them: a status and `{"error": {message, type, ...}}`."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from app.serve.schemas import ErrorBody, ErrorDetail

# OpenAI's error types by status.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class ApiError(Exception):
    """A request the server answers with an HTTP error.

    Args:
        status: The HTTP status (400, 401, 404, 429, 500, 503).
        message: What went wrong, in words, on one line.
        param: The request field at fault, if one is.
        code: A short machine-readable code ("invalid_api_key", "context_length_exceeded").
        headers: Extra response headers (`Retry-After` on a 429).
    """

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> ErrorBody:
        """The JSON body in OpenAI's shape."""
        kind = _TYPES.get(
            self.status, "invalid_request_error" if self.status < 500 else "server_error"
        )
        return ErrorBody(error=ErrorDetail(message=self.message, type=kind, param=self.param,
                                           code=self.code))  # fmt: skip

    def response(self) -> JSONResponse:
        """The error as an HTTP response."""
        return JSONResponse(self.body().model_dump(), status_code=self.status,
                            headers=self.headers)  # fmt: skip
