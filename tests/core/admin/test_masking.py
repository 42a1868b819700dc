"""core.admin.masking: no secret reaches the audit log, whatever the shape it comes in."""

from __future__ import annotations

import json
from enum import Enum

from pydantic import BaseModel, SecretStr

from core.admin import audit
from core.admin.masking import MASK, mask, mask_text, unmask_text


class Kind(Enum):
    SLACK = "slack"


class Channel(BaseModel):
    name: str
    webhook_url: SecretStr
    api_token: SecretStr | None = None


def test_secret_keys_secretstr_and_url_passwords_are_masked() -> None:
    ch = Channel(
        name="ops", webhook_url=SecretStr("https://hooks.example/T0/B0/xyz"), api_token=SecretStr("t0k")
    )
    got = mask(
        {
            "password": "hunter2-hunter2",
            "password_hash": "$2b$12$abc",
            "Authorization": "Bearer abc",
            "nested": {"api_key": "k-123", "list": [{"client_secret": "s"}], "fine": "value"},
            "channel": ch.model_dump(),
            "raw": SecretStr("plain"),
            "url": "postgresql+psycopg://pulse:db-pass@db.example:5432/pulse",
            "empty_token": "",
            "kind": Kind.SLACK,
            "teams": frozenset({"b", "a"}),
            "n": 3,
        }
    )
    text = json.dumps(got)
    for secret in ("hunter2", "$2b$12$abc", "Bearer", "k-123", "xyz", "t0k", "plain", "db-pass", '"s"'):
        assert secret not in text, secret
    assert got["nested"]["fine"] == "value" and got["n"] == 3 and got["teams"] == ["a", "b"]
    assert got["url"] == f"postgresql+psycopg://pulse:{MASK}@db.example:5432/pulse"
    assert got["channel"] == {"name": "ops", "webhook_url": MASK, "api_token": MASK}
    assert got["empty_token"] == ""  # an empty secret says "none set"; nothing to hide
    assert got["kind"] == "Kind.SLACK"


def test_secret_query_parameters_are_masked_and_put_back_by_name() -> None:
    stored = "https://hooks.example/x?api_key=K1&team=ops&access_token=T2#frag"
    shown = mask_text(stored)
    assert shown == f"https://hooks.example/x?api_key={MASK}&team=ops&access_token={MASK}#frag"
    edited = shown.replace("team=ops", "team=dev").replace("hooks.example", "hooks2.example")
    assert unmask_text(edited, stored) == "https://hooks2.example/x?api_key=K1&team=dev&access_token=T2#frag"
    assert unmask_text(f"https://h/x?other_token={MASK}", stored) == f"https://h/x?other_token={MASK}"


def test_text_without_credentials_is_unchanged() -> None:
    for text in ("http://host:9090/metrics", "user@example.com", "a:b", "ssh://git@github.com/x"):
        assert mask_text(text) == text


def test_an_entry_masks_before_and_after_and_summarises_the_change() -> None:
    actor = audit.Actor("admin")
    e = audit.entry(
        actor,
        "channel.update",
        "ops",
        5,
        {"url": "https://h/x", "token": "old-token", "n": 1},
        {"url": "https://h/y", "token": "new-token", "n": 1},
    )
    assert (e.actor, e.source, e.object_kind, e.object_id, e.at_ms) == ("admin", "ui", "channel", "ops", 5)
    assert e.before == {"url": "https://h/x", "token": MASK, "n": 1}
    assert e.after == {"url": "https://h/y", "token": MASK, "n": 1}
    assert e.note == "url: https://h/x -> https://h/y"  # the masked token shows no change
    assert "token" not in e.note and "old-token" not in json.dumps([e.before, e.after, e.note])
    assert audit.entry(actor, "user.create", "x", 1, None, {"a": 1}).note == "created"
    assert audit.entry(actor, "user.remove", "x", 1, {"a": 1}, None).note == "removed"
