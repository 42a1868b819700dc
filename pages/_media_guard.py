"""Files under ``/media/`` (the CSVs of ``st.download_button``) go only to a signed-in Pulse session.

Streamlit serves every ``st.download_button`` file, and every ``st.image``, by URL under
``/media/<id>`` and checks nothing: anyone holding the link got the file. :class:`MediaGuard` is an
ASGI middleware added through Streamlit's official extension point, ``st.App(...,
middleware=[...])``, which ``streamlit run app.py`` serves (app.py declares the ``st.App``). A
request whose path holds ``/media/`` is answered 403, with nothing of the file, unless its cookie
carries the token of a live Pulse session: the check a page run makes (``SignIn.holder``: the
session row, its expiry, the user still enabled), without rotating or touching the session.

Two safeguards against an upgrade of Streamlit quietly reopening the hole: the import below of
Streamlit's media route name fails at start when it moves or changes; and the middleware marks every
WebSocket it passes with :data:`HEADER`, so a page run that came by another way (app.py served as a
plain script, without the ``st.App``) is refused with the reason (:func:`require`).

Limit: the file is not bound to the user whose run made it: any signed-in user holding the URL
gets it (the ids are hashes of the content, unguessable without it). See docs/security.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from streamlit.web.server.starlette.starlette_routes import BASE_ROUTE_MEDIA

from core.access.policy import Principal
from core.seam.signin import SignIn

log = logging.getLogger(__name__)

MEDIA = "/media/"
if f"/{BASE_ROUTE_MEDIA}/" != MEDIA:  # fail at start, never guard a path Streamlit no longer serves
    raise RuntimeError(
        f"Streamlit now serves files under /{BASE_ROUTE_MEDIA}/, not {MEDIA}: update pages/_media_guard.py"
    )
HEADER = "x-pulse-media-guard"  # set on the WebSockets that passed the guard; clients' own are dropped
REFUSED = "Sign in to MCP Pulse to download this file."


def holder(cookies: Mapping[str, str], signin: SignIn) -> Principal | None:
    """Who the request's Pulse cookie signs in, or None: no cookie, or no live session behind it."""
    token = cookies.get(signin.settings.cookie_name)
    return signin.holder(token) if token else None


def _of_this_process(cookies: Mapping[str, str]) -> Principal | None:
    from pages._seam import shared  # at request time: the process-wide backend the pages use

    return holder(cookies, shared().signin)


class MediaGuard:
    """ASGI middleware: ``/media/`` only for a live Pulse session; WebSockets marked as guarded.

    ``who`` maps a request's cookies to the signed-in user (default: this process's backend); it
    runs in a worker thread (it reads the database)."""

    def __init__(
        self, app: ASGIApp, who: Callable[[Mapping[str, str]], Principal | None] = _of_this_process
    ) -> None:
        self.app = app
        self.who = who

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != HEADER.encode()]
            scope = {**scope, "headers": [*headers, (HEADER.encode(), b"on")]}
        elif scope["type"] == "http" and MEDIA in scope["path"] and not await self._signed_in(scope):
            await PlainTextResponse(REFUSED, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _signed_in(self, scope: Scope) -> bool:
        raw = b"; ".join(v for k, v in scope["headers"] if k.lower() == b"cookie")
        try:
            return await run_in_threadpool(self.who, cookie_parser(raw.decode("latin-1"))) is not None
        except Exception:  # the store cannot answer: refuse (fail closed), and say why in the log
            log.exception("the /media/ guard could not check the session; the download is refused")
            return False


def require() -> None:
    """Stop a page run that did not come through :class:`MediaGuard` (app.py served without its
    ``st.App``), so the dashboard never runs with ``/media/`` open. AppTest has no request: passes."""
    headers = st.context.headers
    if len(headers) and headers.get(HEADER) != "on":
        st.error(
            "This dashboard was started without its download guard, so files under /media/ would be "
            "served to anyone. Start it with `pulse up` or `python -m streamlit run app.py`; if that "
            "is what you did, this Streamlit version no longer serves the app's `st.App`: see "
            "pages/_media_guard.py.",
            icon=":material/gpp_bad:",
        )
        st.stop()
