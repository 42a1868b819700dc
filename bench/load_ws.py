"""A dashboard session without a browser: Streamlit's own protocol over its websocket.

What Streamlit's frontend does, and no more: GET the page (the HTML a browser loads first, which
also brings a proxy's sticky cookie), open ``/_stcore/stream`` with the subprotocols the frontend
offers (``streamlit``, then its XSRF cookie or ``PLACEHOLDER_AUTH_TOKEN``), send
``BackMsg.rerun_script`` with a ``ClientState`` (the page's URL path, or the page's script hash
when switching, and the widget states), and read ``ForwardMsg`` protobufs until
``script_finished``. Nothing is drawn: charts arrive as the figure specs a browser gets and are
dropped.

Sign-in drives the app's real form: the first run draws the sign-in screen; the client takes the
ids of its ``Username`` and ``Password`` text inputs and its ``Sign in`` submit button from those
elements and reruns with their widget states (the two strings and the button's trigger), exactly
what the frontend sends when the form is submitted. The app checks the password (bcrypt, the
throttle), keeps the session in the database and queues its token cookie as an ``st.html`` script;
a browser runs that script, this client reads the token from it and sends it as the ``Cookie``
header of its next connections, so a reload restores the session the way a browser's does.

Not done: JavaScript, assets (static files, plotly.js) and the live refresh's own reruns (a
fragment every 30 s; the sessions act every 5 s). A page switch is a rerun on the open socket, as a
click in the sidebar; a reload is a new connection, as F5.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

COOKIE = re.compile(r'document\.cookie = "([^=;"]+)=([^;"]*); Max-Age=(\d+)')
DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)


@dataclass
class Run:
    """What one script run showed: its time, headings, error elements and widgets (label -> id)."""

    seconds: float = 0.0
    headings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    widgets: dict[str, str] = field(default_factory=dict)


class WsSession:
    """One signed-in (or signing-in) user of the dashboard at ``base``, over Streamlit's websocket."""

    def __init__(self, base: str, timeout_s: float = 120.0) -> None:
        self.base, self.timeout_s = base.rstrip("/"), timeout_s
        self.cookies: dict[str, str] = {}  # a proxy's sticky cookie, Streamlit's XSRF, Pulse's token
        self.page_hashes: dict[str, str] = {}  # url path -> page script hash, from the navigation
        self.ws: ClientConnection | None = None

    async def open(self, path: str = "") -> Run:
        """Load ``path`` as a browser does (F5 or a link): the HTML, a new socket, a first run."""
        t0 = time.perf_counter()
        await self.close()
        async with httpx.AsyncClient(cookies=self.cookies, timeout=self.timeout_s) as http:
            resp = await http.get(f"{self.base}/{path}")
            resp.raise_for_status()
            self.cookies.update(dict(resp.cookies))
        ws_url = "ws" + self.base[4:] + "/_stcore/stream"
        xsrf = self.cookies.get("_streamlit_xsrf") or "PLACEHOLDER_AUTH_TOKEN"  # as the frontend
        self.ws = await connect(
            ws_url,
            subprotocols=[Subprotocol("streamlit"), Subprotocol(xsrf)],
            origin=Origin(self.base),
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())},
            max_size=None,
            open_timeout=self.timeout_s,
        )
        run = await self.rerun(path, by_name=True)
        run.seconds = time.perf_counter() - t0
        return run

    async def rerun(self, path: str, widgets: list[Any] | None = None, by_name: bool = False) -> Run:
        """Run the page at ``path`` on the open socket (a sidebar click), with ``widgets`` states."""
        assert self.ws is not None, "open() first"
        msg = BackMsg()
        state = msg.rerun_script
        if by_name or path not in self.page_hashes:
            state.page_name = path
        else:
            state.page_script_hash = self.page_hashes[path]
        state.context_info.timezone, state.context_info.locale = "UTC", "en-US"
        state.context_info.url = f"{self.base}/{path}"
        state.widget_states.widgets.extend(widgets or [])
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        run = await asyncio.wait_for(self._read_run(), self.timeout_s)
        run.seconds = time.perf_counter() - t0
        return run

    async def _read_run(self) -> Run:
        """ForwardMsgs until the run (and the runs an ``st.rerun`` started) finished."""
        assert self.ws is not None
        run = Run()
        while True:
            fwd = ForwardMsg.FromString(await self.ws.recv(decode=False))
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.HasField("new_element"):
                self._element(fwd.delta.new_element, run)
            elif kind == "navigation":
                self.page_hashes = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "page_not_found":
                run.errors.append(f"page not found: {fwd.page_not_found.page_name}")
            elif kind == "script_finished" and fwd.script_finished in DONE:
                if fwd.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    run.errors.append("the script did not compile")
                return run

    def _element(self, el: Any, run: Run) -> None:
        kind = el.WhichOneof("type")
        if kind == "heading":
            run.headings.append(el.heading.body)
        elif kind == "exception":
            run.errors.append(f"exception {el.exception.type}: {el.exception.message[:200]}")
        elif kind == "alert" and el.alert.format == Alert.ERROR:
            run.errors.append(f"error: {el.alert.body[:200]}")
        elif kind in ("text_input", "button"):
            run.widgets[getattr(el, kind).label] = getattr(el, kind).id
        elif kind == "html" and (found := COOKIE.search(el.html.body)):
            name, value, max_age = found.groups()
            if value and int(max_age) > 0:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)

    async def sign_in(self, user: str, password: str) -> Run:
        """Fill and submit the sign-in form; the run after the form's (the Health page) is returned."""
        screen = await self.open()
        missing = {"Username", "Password", "Sign in"} - screen.widgets.keys()
        if missing:
            raise RuntimeError(f"no sign-in form (missing {sorted(missing)}); errors {screen.errors}")
        states = [BackMsg().rerun_script.widget_states.widgets.add() for _ in range(3)]
        states[0].id, states[0].string_value = screen.widgets["Username"], user
        states[1].id, states[1].string_value = screen.widgets["Password"], password
        states[2].id, states[2].trigger_value = screen.widgets["Sign in"], True
        run = await self.rerun("", states, by_name=True)
        if "Health" not in run.headings:
            raise PermissionError(f"{user} not signed in: {'; '.join(run.errors) or 'no Health page'}")
        return run

    async def idle(self, seconds: float) -> None:
        """Wait with the socket read (answers the server's pings; drops what it sends meanwhile)."""
        until = time.monotonic() + seconds
        while self.ws is not None and (left := until - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self.ws.recv(decode=False), left)
            except TimeoutError:
                return

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
