"""The FastAPI application: OpenAI's routes over one `Service`.

    app = build_app(Service(model_thread, ServeOptions(api_key="...")))

Every request passes the key check first (401 without the key; with no key, only requests
addressed to a loopback name), every error is OpenAI's JSON shape, and no CORS headers are
sent, so web pages in a browser cannot read the replies.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.serve.auth import is_loopback, key_matches
from app.serve.bodies import read_body
from app.serve.completions import start_reply, streamed_reply, whole_reply
from app.serve.embeddings import embed
from app.serve.errors import ApiError
from app.serve.reply import ClientGone, ReplyRun
from app.serve.schemas import ChatCompletionRequest, EmbeddingRequest, ModelList
from app.serve.service import Service

# The status a client that went away is logged with (nginx's "client closed request").
CLIENT_CLOSED = 499


def build_app(service: Service) -> KeyCheck:
    """The API over `service` (an ASGI application): GET /v1/models, POST /v1/chat/completions
    and POST /v1/embeddings, behind the key check."""
    app = FastAPI(title="Hearth", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(HTTPException)
    async def on_http(_request: Request, exc: HTTPException) -> Response:
        words = {404: "There is no such endpoint.", 405: "That method is not allowed here."}
        return ApiError(exc.status_code, words.get(exc.status_code, str(exc.detail))).response()

    @app.get("/v1/models")
    async def models() -> ModelList:
        entry = service.model_entry()
        return ModelList(data=[entry] if entry is not None else [])

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await read_body(request, ChatCompletionRequest)
        admitted = ExitStack()
        admitted.enter_context(service.gate.admit())
        try:
            reply, run = await start_reply(service, body, request)
            if body.stream:
                include_usage = bool(body.stream_options and body.stream_options.include_usage)
                held = admitted.pop_all()
                stream = streamed_reply(reply, run, include_usage, held)
                # The stream releases its place in the queue as it ends; the background task
                # does when a client left before the stream began.
                return EventSourceResponse(stream, ping=15,
                                           background=BackgroundTask(_release, run, held))  # fmt: skip
            completion = await whole_reply(reply, run)
            return JSONResponse(completion.model_dump(exclude_none=True))
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED)
        finally:
            admitted.close()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await read_body(request, EmbeddingRequest)
        return JSONResponse((await embed(service.embedder, body)).model_dump())

    return KeyCheck(app, service.options.api_key, service.context_length)


def _release(run: ReplyRun, held: ExitStack) -> None:
    run.cancel()
    held.close()


# A 131,072-token window holds about half a megabyte of text: a body many times that can never
# fit, and counting its tokens first would hold the one model for minutes (30 MB: 4 min).
MAX_BODY_BYTES = 8_000_000


class KeyCheck:
    """ASGI middleware run before any route: the API key, or a loopback Host when there is none;
    and a body larger than MAX_BODY_BYTES (by its Content-Length) is refused unread.

    Args:
        app: The application it guards.
        api_key: The key each request must carry; "" to take only requests whose Host header
            names this computer (so a web page cannot reach the server by a rebound DNS name).
        context_length: The served model's window in tokens (None while none is loaded), which
            the refusal of a large body compares it with.
    """

    def __init__(self, app: ASGIApp, api_key: str,
                 context_length: Callable[[], int | None] = lambda: None) -> None:  # fmt: skip
        self.app = app
        self.api_key = api_key
        self.context_length = context_length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {key.lower(): value.decode("latin-1") for key, value in scope["headers"]}
            refusal = self._refusal(headers) or self._too_large(headers)
            if refusal is not None:
                await refusal.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: dict[bytes, str]) -> ApiError | None:
        if self.api_key:
            if key_matches(headers.get(b"authorization"), self.api_key):
                return None
            return ApiError(401, "The API key is missing or wrong: send it as "
                            "'Authorization: Bearer <key>'.", code="invalid_api_key",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        host = headers.get(b"host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host and not is_loopback(name):
            return ApiError(403, f"This server answers requests for 127.0.0.1 or localhost only, "
                            f"not '{host}'.", code="host_not_allowed")  # fmt: skip
        return None

    def _too_large(self, headers: dict[bytes, str]) -> ApiError | None:
        length = headers.get(b"content-length", "")
        if not length.isdigit() or int(length) <= MAX_BODY_BYTES:
            return None
        window = self.context_length()
        holds = f", far more text than the model's {window:,}-token window holds" if window else ""
        return ApiError(413, f"The request is {int(length) / 1e6:,.1f} MB: this server takes at "
                        f"most {MAX_BODY_BYTES / 1e6:,.0f} MB{holds}.", code="request_too_large")  # fmt: skip
