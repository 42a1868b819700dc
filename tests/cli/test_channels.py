"""`pulse channels list|test NAME` against a real local receiver and a dead port; secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.admin.audit import Actor
from core.admin.settings import SettingsService
from core.cli import main
from core.kernel.records.audit import AuditQuery
from core.kernel.settings import load_settings
from core.storage.repos.audit import AuditRepo
from core.storage.repos.notifications import read_deliveries
from core.storage.repos.settings import SettingsRepo
from core.storage.tsdb import open_store
from tests.promstack import free_port
from tests.receivers import Receiver

SECRET = "tok-9f8e7d6c5b4a"


def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, channels: list[dict]) -> str:
    url = f"sqlite:///{tmp_path}/p.db"
    monkeypatch.setenv("PULSE_DATABASE_URL", url)
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PULSE_ALERTING", json.dumps({"channels": channels}))
    return url


def test_list_and_test_a_channel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    url = env(
        monkeypatch,
        tmp_path,
        [
            {"type": "webhook", "name": "hook", "url": f"{receiver.url}/hook?token={SECRET}"},
            {"type": "webhook", "name": "dead", "url": f"http://127.0.0.1:{free_port()}/x", "enabled": False},
        ],
    )
    assert main(["channels", "list"]) == 0
    out = capsys.readouterr().out
    assert "hook" in out and "dead" in out and "disabled" in out and SECRET not in out
    assert main(["channels", "test", "hook"]) == 0
    assert "hook (webhook): delivered (HTTP 200)" in capsys.readouterr().out
    (body,) = receiver.bodies("/hook?token=" + SECRET)
    assert body["alerts"][0]["labels"]["alertname"] and body["version"] == "4"
    assert main(["channels", "test", "dead"]) == 1  # a disabled channel can still be tested
    out = capsys.readouterr().out
    assert "dead (webhook): failed" in out and "Connection refused" in out
    store = open_store(load_settings(database_url=url))
    deliveries = read_deliveries(store.engine, 0, 2**62)
    store.close()
    assert deliveries["channel"].to_list() == ["hook", "dead"] and deliveries["action"].to_list() == [
        "test",
        "test",
    ]
    assert main(["channels", "test", "nope"]) == 2
    assert "no channel named 'nope'; known channels: dead, hook" in capsys.readouterr().err


def test_the_channel_in_effect_is_tested_and_audited(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    url = env(monkeypatch, tmp_path, [{"type": "webhook", "name": "hook", "url": f"{receiver.url}/old"}])
    store = open_store(load_settings(database_url=url))
    try:  # an admin points the channel elsewhere in Admin > Settings
        service = SettingsService(store.settings, SettingsRepo(store.engine), store.now_ms)
        channel = {"type": "webhook", "name": "hook", "url": f"{receiver.url}/new?token={SECRET}"}
        service.update("alerting", {"channels": [channel]}, Actor("ada"))
    finally:
        store.close()
    assert main(["channels", "test", "hook"]) == 0
    assert "delivered" in capsys.readouterr().out
    assert receiver.bodies("/old") == [] and len(receiver.bodies(f"/new?token={SECRET}")) == 1
    store = open_store(load_settings(database_url=url))
    try:
        (entry,) = [e for e in AuditRepo(store.engine).read(AuditQuery()) if e.action == "channel.test"]
    finally:
        store.close()
    assert entry.actor.startswith("cli:") and entry.object_id == "hook"
    assert SECRET not in json.dumps(entry.after) and entry.after["ok"] is True
