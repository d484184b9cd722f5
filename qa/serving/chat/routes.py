"""Guards on Gradio's own HTTP routes, where Gradio would answer a bad call with a bare 500."""

from __future__ import annotations

import logging
import re

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("qa.app")

# A multipart part that names its file only in RFC 5987 form (filename*=UTF-8''…):
# Gradio's parser does not see it as a file.
EXTENDED_NAME = re.compile(rb"filename\*\s*=", re.IGNORECASE)


class KnownEndpoints:
    """Gradio answers a call to an endpoint that does not exist with a bare
    HTTP 500; this says 404 and which endpoints there are."""

    def __init__(self, app: ASGIApp, names: set[str]) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/gradio_api/call/"):
            name = path.removeprefix("/gradio_api/call/").split("/", 1)[0]
            if name not in self.names:
                known = ", ".join(f"/{n}" for n in sorted(self.names))
                reply = JSONResponse({"error": f"No endpoint /{name}; this app has {known}."}, status_code=404)
                return await reply(scope, receive, send)
        return await self.app(scope, receive, send)


class UploadFailures:
    """Gradio's upload route (``/gradio_api/upload``) fails with a bare 500 on a
    multipart body it cannot read, such as a file named only as
    ``filename*=UTF-8''…``; this answers 400 with a message instead. Nothing of
    such a request is kept: Gradio fails before it moves any file into place.

    The body streams through untouched; only the part headers are looked at."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/gradio_api/upload"):
            return await self.app(scope, receive, send)
        seen = {"extended": False, "tail": b""}
        started = {"failed": False, "sent": False}

        async def watched() -> Message:
            message = await receive()
            chunk = seen["tail"] + message.get("body", b"")
            if EXTENDED_NAME.search(chunk):
                seen["extended"] = True
            seen["tail"] = chunk[-32:]
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 500:
                started["failed"] = True
                return
            if started["failed"]:
                return
            started["sent"] = True
            await send(message)

        failure: Exception | None = None
        try:
            await self.app(scope, watched, sending)
        except Exception as err:
            if started["sent"]:
                raise
            started["failed"], failure = True, err
        if started["failed"] and not started["sent"]:
            if seen["extended"]:
                message = (
                    "The upload was not taken: a file's name is given only as filename*= (RFC 5987). "
                    'Name each file with a plain filename="…" in its Content-Disposition. Nothing was stored.'
                )
            else:
                log.error("Gradio's upload route failed", exc_info=failure)
                message = "The upload was not taken: its multipart body could not be read. Nothing was stored."
            await JSONResponse({"error": message}, status_code=400)(scope, receive, send)
