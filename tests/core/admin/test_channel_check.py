"""core.admin.channel_check against a real local webhook receiver, on SQLite and PostgreSQL: "send
test" goes out with the form's unsaved edits, masked secrets the admin left alone come from the
saved channel (by the name it was opened under), bad input names the field and sends nothing,
nothing is saved, and every send is recorded and audited with secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.admin.audit import Actor
from core.admin.channel_check import channel_of, send_test
from core.admin.masking import MASK
from core.admin.settings_values import masked
from core.kernel.errors import FieldErrors
from core.kernel.records.audit import AuditEntry, AuditQuery
from core.kernel.records.notifications import Delivery
from core.kernel.settings import Settings, load_settings
from core.storage.repos.audit import AuditRepo
from core.storage.repos.notifications import read_deliveries, record_delivery
from core.storage.repos.settings import SettingsRepo
from core.storage.tsdb.store import Store
from tests.conftest import FakeClock
from tests.receivers import Receiver, Reply

ROOT = Actor("root")
TOKEN = "s3cret-token"
URL_KEY = "k3y-in-url"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Settings:
    """A saved webhook channel ``hook`` with a bearer token and a secret in its URL's query."""
    toml = tmp_path / "pulse.toml"
    toml.write_text(
        f'[[alerting.channels]]\nname = "hook"\ntype = "webhook"\n'
        f'url = "{receiver.url}/saved?api_key={URL_KEY}"\nbearer_token = "{TOKEN}"\n'
    )
    monkeypatch.setenv("PULSE_CONFIG", str(toml))
    return load_settings(database_url=db_url)


def form_of(settings: Settings, **edits: object) -> dict[str, object]:
    """The channel as the form shows it (secrets masked; a SecretStr field comes back empty)."""
    [shown] = masked(settings)["alerting"]["channels"]
    return {**shown, "bearer_token": "", **edits}


def send(settings: Settings, store: Store, clock: FakeClock, values: dict, saved: str | None) -> Delivery:  # type: ignore[type-arg]
    cfg = channel_of(values, settings, saved)
    return send_test(
        cfg,
        settings,
        record=lambda d: record_delivery(store.engine, d),
        write_audit=AuditRepo(store.engine).add,
        actor=ROOT,
        now_ms=clock.ms,
        saved_name=saved,
    )


def audited(store: Store) -> list[AuditEntry]:
    return AuditRepo(store.engine).read(AuditQuery(action="channel.test"))


def test_an_unsaved_edit_is_sent_with_the_saved_secrets_and_nothing_is_saved(
    settings: Settings, store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    values = form_of(settings, url=f"{receiver.url}/edited?api_key={MASK}", name="hook-renamed")
    assert values["url"] == f"{receiver.url}/edited?api_key={MASK}"
    d = send(settings, store, clock, values, saved="hook")
    assert d.ok and d.action == "test" and d.channel == "hook-renamed", d
    [sent] = receiver.requests
    assert sent.path == f"/edited?api_key={URL_KEY}"  # the edit, with the key put back by its name
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"  # left empty: the saved token
    assert sent.json["alerts"][0]["labels"]["alertname"] == "PulseTestNotification"
    assert SettingsRepo(store.engine).overrides() == {} and SettingsRepo(store.engine).revision() == 0
    [row] = read_deliveries(store.engine, 0, 2**62).to_dicts()
    assert row["channel"] == "hook-renamed" and row["ok"]
    [entry] = audited(store)
    assert (entry.actor, entry.object_kind, entry.object_id) == ("root", "channel", "hook-renamed")
    assert entry.note.startswith("test send with unsaved edits: delivered (HTTP 200) in ")
    assert entry.after is not None and entry.after["ok"] is True and entry.after["unsaved_edits"] is True
    assert entry.after["channel"]["bearer_token"] == MASK
    assert entry.after["channel"]["url"] == f"{receiver.url}/edited?api_key={MASK}"
    text = json.dumps([entry.after, entry.note])
    assert TOKEN not in text and URL_KEY not in text


def test_the_saved_channel_unchanged_is_audited_as_saved(
    settings: Settings, store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    d = send(settings, store, clock, form_of(settings), saved="hook")
    assert d.ok
    [sent] = receiver.requests
    assert sent.path == f"/saved?api_key={URL_KEY}"
    [entry] = audited(store)
    assert entry.note.startswith("test send as saved: delivered")
    assert entry.after is not None and entry.after["unsaved_edits"] is False


def test_a_new_token_typed_in_the_form_is_the_one_sent(
    settings: Settings, store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    send(settings, store, clock, form_of(settings, bearer_token="typed-now-9"), saved="hook")
    [sent] = receiver.requests
    assert sent.headers["Authorization"] == "Bearer typed-now-9"
    [entry] = audited(store)
    assert "typed-now-9" not in json.dumps([entry.after, entry.note])


def test_a_failed_send_is_audited_with_the_outcome(
    settings: Settings, store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.default = Reply(status=500, body="receiver broke")
    d = send(settings, store, clock, form_of(settings), saved="hook")
    assert not d.ok and d.outcome == "failed" and d.status_code == 500
    assert len(receiver.requests) == 1  # a test is one attempt, never retried or queued
    [entry] = audited(store)
    assert entry.after is not None and entry.after["ok"] is False and entry.after["status_code"] == 500
    assert entry.note.startswith("test send as saved: failed (HTTP 500)")


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        ({"url": "ftp://127.0.0.1/x"}, "alerting.channels.url", "must be an http:// or https:// URL"),
        ({"name": "Bad Name"}, "alerting.channels.name", "must match pattern"),
        ({"timeout_s": 0}, "alerting.channels.timeout_s", "must be greater than 0"),
    ],
)
def test_bad_input_names_the_field_and_sends_nothing(
    settings: Settings,
    store: Store,
    receiver: Receiver,
    edit: dict,
    field: str,
    words: str,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(FieldErrors) as err:
        channel_of(form_of(settings, **edit), settings, "hook")
    assert field in err.value.fields and words in err.value.fields[field], err.value.fields
    assert f"{field}:" in err.value.fields[field]
    assert receiver.requests == [] and audited(store) == []


def test_a_new_channel_not_saved_yet_is_sent_as_entered(
    settings: Settings, store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    values = {"type": "webhook", "name": "fresh", "url": f"{receiver.url}/fresh", "bearer_token": None}
    d = send(settings, store, clock, values, saved=None)
    assert d.ok
    [sent] = receiver.requests
    assert sent.path == "/fresh" and "Authorization" not in sent.headers
    [entry] = audited(store)
    assert entry.object_id == "fresh" and entry.after is not None and entry.after["unsaved_edits"] is True
