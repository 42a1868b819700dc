"""AppTest of Admin > Settings: an admin changes a section through its generated form (a bad
value refused with the setting's name, nothing saved), adds a data source and tests it against a
real local endpoint, downloads and uploads the TOML file; every other role is refused, by the
page and by the seam."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.access.policy import Principal
from core.kernel.errors import PermissionDenied
from core.kernel.records.audit import AuditQuery
from core.kernel.settings import load_settings
from core.kernel.text import md_text
from core.seam import open_backend
from core.storage.repos.audit import AuditRepo
from core.storage.repos.settings import SettingsRepo
from core.storage.repos.users import UserRepo
from core.storage.tsdb import open_store
from pages import _keys as K
from tests.pages.conftest import AppFactory
from tests.receivers import Receiver

PAGE = "pages/admin_settings.py"
FORBIDDEN = ("lead", "dev", "viewer")
EXPOSITION = b"# TYPE demo_up gauge\ndemo_up 1\ndemo_temperature_celsius 21.5\n"


def overrides(url: str) -> dict:  # type: ignore[type-arg]
    store = open_store(load_settings(database_url=url))
    try:
        return {k: o.value for k, o in SettingsRepo(store.engine).overrides().items()}
    finally:
        store.close()


def audit_actions(url: str) -> list[tuple[str, str, str]]:
    store = open_store(load_settings(database_url=url))
    try:
        return [(e.actor, e.action, e.object_id) for e in AuditRepo(store.engine).read(AuditQuery())]
    finally:
        store.close()


def errors(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.value for e in at.error]


@pytest.fixture
def metrics_endpoint() -> Iterator[str]:
    """A real HTTP endpoint serving a small Prometheus exposition, for "test now"."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(EXPOSITION)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()


def test_admin_changes_a_section_and_a_bad_value_names_the_field(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, PAGE)
    assert not at.exception and not errors(at), errors(at)
    assert at.title[0].value == "Settings"
    at.number_input(key=f"{K.W_SETTINGS}.host.interval_s").set_value(5)
    at.button(key="FormSubmitter:settings.host-Save host").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert overrides(empty_url) == {"host": {"interval_s": 5}}
    assert md_text("Saved host (revision 1); running daemons apply it within seconds.") in [
        s.value for s in at.success
    ]
    at.number_input(key=f"{K.W_SETTINGS}.retention.raw_days").set_value(0.0)
    at.button(key="FormSubmitter:settings.retention-Save retention").click().run()
    assert md_text("retention.raw_days: must be greater than 0 (got 0.0)") in errors(at), errors(at)
    assert "retention" not in overrides(empty_url)
    assert audit_actions(empty_url) == [("admin", "settings.update", "host")]


def test_admin_adds_a_source_tests_it_and_reads_the_restart_sections(
    app: AppFactory, empty_url: str, metrics_endpoint: str
) -> None:
    at = app(empty_url, PAGE)
    at.selectbox(key=f"{K.W_SETTINGS}.source.tag").set_value("scrape").run()
    prefix = f"{K.W_SETTINGS}.source.(add a new one).scrape"
    at.text_input(key=f"{prefix}.name").set_value("edge")
    at.text_input(key=f"{prefix}.url").set_value(metrics_endpoint)
    at.button(key="FormSubmitter:settings.source.(add a new one).scrape-Test now").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert any(s.value.startswith("Collected ") for s in at.success), [s.value for s in at.success]
    assert "demo_temperature_celsius" in at.code[0].value
    assert "sources" not in overrides(empty_url)  # a test saves nothing
    at.button(key="FormSubmitter:settings.source.(add a new one).scrape-Save source").click().run()
    assert not errors(at), errors(at)
    [source] = overrides(empty_url)["sources"]
    assert source["name"] == "edge" and source["url"] == metrics_endpoint
    shown = "\n".join(c.value for c in at.code)
    assert "[metrics]" in shown and "[database]" in shown  # read at start: shown, not editable
    assert any("takes effect at the next start" in c.value for c in at.caption)


def test_admin_downloads_and_uploads_the_settings_file(app: AppFactory, empty_url: str) -> None:
    at = app(empty_url, PAGE)
    [download] = at.get("download_button")
    assert download.proto.label == "Download settings (TOML)"
    backend = open_backend(load_settings(database_url=empty_url))
    try:
        who = Principal.of(UserRepo(backend.store.engine).get("admin"))
        admin = backend.console(who)
        text = admin.settings_admin.export_toml()
        assert 'database_url = "********"' in text
        saved = admin.settings_admin.import_toml(text.replace("hour_days = 730.0", "hour_days = 400.0"))
        assert backend.console(who).settings.retention.hour_days == 400  # the dashboard's seam too
        assert backend.settings.retention.hour_days == 730  # the first-start settings stay the base
    finally:
        backend.store.close()
    assert saved.sections == ("retention",)
    assert overrides(empty_url) == {"retention": {"hour_days": 400.0}}
    assert audit_actions(empty_url) == [("admin", "settings.import", "retention")]


@pytest.mark.parametrize("who", FORBIDDEN)
def test_other_roles_may_not_open_the_settings(app: AppFactory, empty_url: str, who: str) -> None:
    at = app(empty_url, PAGE, user=who)
    assert any("may not open" in e for e in errors(at)), errors(at)
    assert not at.text_input and not at.number_input


@pytest.mark.parametrize("who", FORBIDDEN)
def test_the_seam_refuses_other_roles(empty_url: str, who: str) -> None:
    backend = open_backend(load_settings(database_url=empty_url))
    try:
        console = backend.console(Principal.of(UserRepo(backend.store.engine).get(who)))
        sa = console.settings_admin
        calls = [
            sa.sections, sa.effective, sa.export_toml, sa.revision, sa.changes,
            lambda: sa.section("alerting"),
            lambda: sa.update("host", {"interval_s": 1}),
            lambda: sa.reset("host"),
            lambda: sa.import_toml("[host]\ninterval_s = 1\n"),
            lambda: sa.test_source({"kind": "scrape", "name": "x", "url": "http://127.0.0.1:1/"}),
            lambda: sa.send_test({"type": "webhook", "name": "x", "url": "http://127.0.0.1:1/"}),
        ]  # fmt: skip
        for call in calls:
            with pytest.raises(PermissionDenied, match="may not manage_settings"):
                call()
    finally:
        backend.store.close()
    assert overrides(empty_url) == {} and audit_actions(empty_url) == []


def test_admin_adds_a_channel_sends_a_test_and_edits_the_route(
    app: AppFactory, empty_url: str, receiver: Receiver
) -> None:
    at = app(empty_url, PAGE)
    at.selectbox(key=f"{K.W_SETTINGS}.channel.tag").set_value("webhook").run()
    prefix = f"{K.W_SETTINGS}.channel.(add a new one).webhook"
    at.text_input(key=f"{prefix}.name").set_value("ops")
    at.text_input(key=f"{prefix}.url").set_value(f"{receiver.url}/hook")
    at.text_input(key=f"{prefix}.bearer_token").set_value("tok-123456")
    at.button(key="FormSubmitter:settings.channel.(add a new one).webhook-Save channel").click().run()
    assert not at.exception and not errors(at), errors(at)
    [channel] = overrides(empty_url)["alerting"]["channels"]
    assert channel["bearer_token"] == "tok-123456"  # stored; never shown again:
    at.selectbox(key=f"{K.W_SETTINGS}.channel.pick").set_value("ops").run()
    token = at.text_input(key=f"{K.W_SETTINGS}.channel.ops.webhook.bearer_token")
    assert token.value == "" and "tok-123456" not in str(at)
    at.button(key="FormSubmitter:settings.channel.ops.webhook-Send test").click().run()
    assert not errors(at), errors(at)
    assert any(s.value.startswith("ops") and "delivered" in s.value for s in at.success), at.success
    [sent] = receiver.requests
    assert sent.headers["Authorization"] == "Bearer tok-123456"  # the kept secret went out
    assert sent.json["alerts"][0]["labels"]["alertname"] == "PulseTestNotification"
    route = f"{K.W_SETTINGS}.toml.route"
    at.text_area(key=route).set_value('[route]\nreceivers = ["nobody"]\n')
    at.button(key="FormSubmitter:settings.alerting.route-Save route").click().run()
    assert any(e.startswith("alerting:") and "receivers nobody" in e for e in errors(at)), errors(at)
    at.text_area(key=route).set_value('[route]\nreceivers = ["ops"]\ngroup_wait = "10s"\n')
    at.button(key="FormSubmitter:settings.alerting.route-Save route").click().run()
    assert not errors(at), errors(at)
    assert overrides(empty_url)["alerting"]["route"] == {"receivers": ["ops"], "group_wait": "10s"}


def test_send_test_sends_the_unsaved_edit_with_the_saved_secret_and_audits_it(
    app: AppFactory, empty_url: str, receiver: Receiver
) -> None:
    at = app(empty_url, PAGE)
    assert any("as entered in the form, without saving it" in c.value for c in at.caption)
    at.selectbox(key=f"{K.W_SETTINGS}.channel.tag").set_value("webhook").run()
    new = f"{K.W_SETTINGS}.channel.(add a new one).webhook"
    at.text_input(key=f"{new}.name").set_value("ops")
    at.text_input(key=f"{new}.url").set_value(f"{receiver.url}/saved")
    at.text_input(key=f"{new}.bearer_token").set_value("tok-123456")
    at.button(key="FormSubmitter:settings.channel.(add a new one).webhook-Save channel").click().run()
    assert not errors(at), errors(at)
    at.selectbox(key=f"{K.W_SETTINGS}.channel.pick").set_value("ops").run()
    ops = f"{K.W_SETTINGS}.channel.ops.webhook"
    send = "FormSubmitter:settings.channel.ops.webhook-Send test"
    at.text_input(key=f"{ops}.url").set_value("ftp://127.0.0.1/nowhere")
    at.button(key=send).click().run()
    refused = md_text("alerting.channels.url: must be an http:// or https:// URL")
    assert refused in errors(at), errors(at)
    assert receiver.requests == []  # refused like a save would be: nothing sent
    at.text_input(key=f"{ops}.url").set_value(f"{receiver.url}/edited")
    at.button(key=send).click().run()
    assert not errors(at), errors(at)
    assert any(s.value.startswith(md_text("ops: delivered (HTTP 200) in")) for s in at.success), at.success
    [sent] = receiver.requests
    assert sent.path == "/edited"  # the form's unsaved URL
    assert sent.headers["Authorization"] == "Bearer tok-123456"  # the saved token, left empty in the form
    assert overrides(empty_url)["alerting"]["channels"][0]["url"] == f"{receiver.url}/saved"  # not saved
    assert audit_actions(empty_url)[0] == ("admin", "channel.test", "ops")


def test_fields_are_labelled_for_people_and_name_their_key() -> None:
    from pages._settings_widgets import label_of

    assert [label_of(n) for n in ("interval_s", "raw_days", "timeout_ms", "max_body_bytes")] == [
        "Interval (s)",
        "Raw days",
        "Timeout (ms)",
        "Max body bytes",
    ]
