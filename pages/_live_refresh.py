"""Live refresh: a page's body as a fragment that re-runs on its own every few seconds, and that
hands over to the whole app when the signed-in user's access changed in the meantime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import streamlit as st

from core.kernel.errors import PulseError
from pages._seam import backend, principal

if TYPE_CHECKING:
    from pages._controls import Controls


def run(controls: Controls, body: Callable[[], None]) -> None:
    """Run ``body`` as a fragment re-running on its own while live refresh is on."""
    if controls.live:

        def live() -> None:
            _recheck_principal()
            body()

        st.fragment(run_every=timedelta(seconds=controls.resolve().refresh_s))(live)()
    else:
        body()


def _recheck_principal() -> None:
    """A live fragment re-runs without app.py's gate: when the user was disabled or their role or
    teams changed since, re-run the whole app so the gate applies the change."""
    who = principal()
    try:
        same = backend().signin.principal_of(who.username) == who
    except PulseError:
        same = False
    if not same:
        st.rerun(scope="app")
