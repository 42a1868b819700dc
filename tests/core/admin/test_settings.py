"""core.admin.settings on SQLite and PostgreSQL: the overlay on the file and the environment,
validation of each section naming the field (nothing saved), secrets masked and kept, the audit
entries, sections read at start refused, and the TOML export -> import round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.admin.audit import Actor
from core.admin.masking import MASK
from core.admin.settings import SettingsService
from core.kernel.errors import FieldErrors
from core.kernel.records.audit import AuditQuery
from core.kernel.settings import Settings, load_settings
from core.seam.backend import Backend
from core.storage.repos.audit import AuditRepo
from core.storage.repos.settings import SettingsRepo
from core.storage.tsdb.store import Store
from tests.conftest import FakeClock

ROOT = Actor("root")
HOOK = {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/hook", "bearer_token": "s3cret-token"}
PG = {"kind": "postgres", "name": "appdb", "dsn": "postgresql://app:pw-in-dsn@127.0.0.1/app"}


@pytest.fixture
def base(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """First-start settings from a real pulse.toml and a PULSE_* variable."""
    toml = tmp_path / "pulse.toml"
    toml.write_text(
        "[host]\ninterval_s = 20\n\n[retention]\nraw_days = 3\nminute_days = 20\n\n"
        '[alerting.route]\nreceivers = ["hook"]\n\n[[alerting.channels]]\nname = "hook"\n'
        'type = "webhook"\nurl = "http://127.0.0.1:9/hook"\nbearer_token = "s3cret-token"\n'
    )
    monkeypatch.setenv("PULSE_CONFIG", str(toml))
    monkeypatch.setenv("PULSE_RETENTION__MINUTE_DAYS", "30")  # the environment beats the file
    return load_settings(database_url=db_url)


@pytest.fixture
def service(base: Settings, store: Store, clock: FakeClock) -> SettingsService:
    return SettingsService(base, SettingsRepo(store.engine), lambda: clock.ms)


def entries(service: SettingsService) -> list:  # type: ignore[type-arg]
    return list(reversed(AuditRepo(service.repo.engine).read(AuditQuery())))


def test_overrides_lie_over_the_file_and_the_environment(service: SettingsService) -> None:
    before = service.effective()
    assert (before.host.interval_s, before.retention.raw_days, before.retention.minute_days) == (20, 3, 30)
    saved = service.update("retention", {"minute_days": 10}, ROOT)
    service.update("host", {"interval_s": 5}, ROOT)
    now = service.effective()
    assert saved.revision == 1 and service.revision() == 2
    assert (now.host.interval_s, now.retention.minute_days) == (5, 10)
    assert now.retention.raw_days == 3  # keys not overridden still come from the file
    assert service.changes()["host"].updated_by == "root"


@pytest.mark.parametrize(
    ("section", "values", "field", "message"),
    [
        ("alerting", {"evaluation_interval_s": 0}, "alerting.evaluation_interval_s", "must be greater than or equal to 1"),
        ("retention", {"raw_days": -1}, "retention.raw_days", "must be greater than 0"),
        ("ingest", {"future_tolerance_s": "soon"}, "ingest.future_tolerance_s", "must be a valid integer"),
        ("host", {"interval_s": 0}, "host.interval_s", "must be greater than or equal to 1"),
        ("demo", {"hosts": 1000}, "demo.hosts", "must be less than or equal to 200"),
        ("scheduler", {"settings_poll_s": 0}, "scheduler.settings_poll_s", "must be greater than or equal to 0.5"),
        ("snapshots", {"nonsense": 1}, "snapshots.nonsense", "is not a setting of this section"),
        ("collectors", ["host", "warp"], "collectors", "unknown collector(s) 'warp'; known: demo, host"),
        ("sources", [{"kind": "scrape", "name": "Bad Name", "url": "http://x/"}], "sources[0].scrape.name", "must match pattern"),
        ("alerting", {"route": {"receivers": ["nobody"]}}, "alerting", "receivers nobody"),
    ],
)  # fmt: skip
def test_bad_values_name_the_field_and_save_nothing(
    service: SettingsService, section: str, values: object, field: str, message: str
) -> None:
    with pytest.raises(FieldErrors) as err:
        service.update(section, values, ROOT)
    assert field in err.value.fields, err.value.fields
    assert err.value.fields[field].startswith(f"{field}: ") and message in err.value.fields[field]
    assert service.revision() == 0 and entries(service) == []


def test_sections_read_at_start_are_refused_with_the_reason(service: SettingsService) -> None:
    for section, values in (
        ("metrics", {"port": 1}),
        ("database", {"lock_timeout_s": 1}),
        ("cluster", {"poll_s": 2}),
    ):
        with pytest.raises(FieldErrors, match="takes effect at the next start") as err:
            service.update(section, values, ROOT)
        assert list(err.value.fields) == [section]
    with pytest.raises(FieldErrors, match="alerting.inbound: takes effect at the next start"):
        service.update("alerting", {"inbound": {"enabled": True}}, ROOT)
    with pytest.raises(FieldErrors, match="auth.cookie_name: takes effect at the next start"):
        service.update("auth", {"cookie_name": "other"}, ROOT)
    assert service.revision() == 0


def test_a_sign_in_setting_reaches_the_dashboard_without_a_restart(
    service: SettingsService, base: Settings, store: Store
) -> None:
    backend = Backend(base, store)
    assert base.auth.throttle_free_failures > 2
    for _ in range(2):  # two wrong passwords: still free under the first-start throttle
        assert backend.signin.attempt("nobody", "wrong", "ip:10.0.0.1").wait_s == 0
    service.update("auth", {"throttle_free_failures": 1, "session_idle_minutes": 7}, ROOT)
    assert backend.signin.settings.session_idle_minutes == 7
    assert backend.signin.attempt("nobody", "wrong", "ip:10.0.0.2").wait_s > 0  # past the new limit
    assert (
        backend.settings.auth.throttle_free_failures == base.auth.throttle_free_failures
    )  # first start kept


def test_secrets_are_masked_and_an_empty_or_placeholder_keeps_the_stored_one(
    service: SettingsService,
) -> None:
    service.update("sources", [PG], ROOT)
    shown = service.section("alerting")["channels"][0]
    assert shown["bearer_token"] == MASK and "s3cret" not in str(service.section("alerting"))
    assert service.section("sources")[0]["dsn"] == MASK
    edited = {**shown, "url": "http://127.0.0.1:9/other", "bearer_token": ""}
    service.update("alerting", {"channels": [edited]}, ROOT)
    service.update("sources", [{**service.section("sources")[0], "interval_s": 60}], ROOT)
    now = service.effective()
    assert now.alerting.channels[0].bearer_token.get_secret_value() == "s3cret-token"  # type: ignore[union-attr]
    assert now.alerting.channels[0].url == "http://127.0.0.1:9/other"
    assert now.sources[0].dsn.get_secret_value() == PG["dsn"]  # type: ignore[union-attr]
    assert now.sources[0].interval_s == 60


def test_a_token_or_password_in_a_webhook_url_is_masked_and_kept_through_an_edit(
    service: SettingsService,
) -> None:
    url = "https://pulse:url-pass@hooks.example/notify?token=t0k3n-abc&team=a&sig=s1g"
    service.update("alerting", {"channels": [{**HOOK, "url": url}]}, ROOT)
    shown = service.section("alerting")["channels"][0]
    assert shown["url"] == f"https://pulse:{MASK}@hooks.example/notify?token={MASK}&team=a&sig={MASK}"
    assert "t0k3n" not in service.export_toml() and "url-pass" not in str(service.section("alerting"))
    edited = {**shown, "url": shown["url"].replace("team=a", "team=b")}  # the admin edits around them
    service.update("alerting", {"channels": [edited]}, ROOT)
    assert service.effective().alerting.channels[0].url == url.replace("team=a", "team=b")


def test_every_change_is_audited_with_masked_before_and_after(
    service: SettingsService, clock: FakeClock
) -> None:
    service.update("host", {"interval_s": 7}, ROOT)
    clock.advance(1)
    service.update("sources", [PG], Actor("ada"))
    clock.advance(1)
    service.update("alerting", {"channels": [{**HOOK, "bearer_token": "rotated"}]}, ROOT)
    host, sources, alerting = entries(service)
    assert (host.actor, host.action, host.object_id, host.note) == (
        "root",
        "settings.update",
        "host",
        "interval_s: 20 -> 7",
    )
    assert host.before == {"interval_s": 20} and host.after == {"interval_s": 7}
    assert sources.actor == "ada" and sources.before == {"sources": []}
    assert sources.after["sources"][0]["dsn"] == MASK  # type: ignore[index]
    assert alerting.note == "a secret changed (values masked)"
    assert alerting.at_ms - host.at_ms == 2000
    assert "s3cret" not in str([e.after for e in entries(service)]) and "rotated" not in str(alerting.after)
    assert "pw-in-dsn" not in str([e.after for e in entries(service)])


def test_nothing_changed_writes_no_revision_and_no_entry(service: SettingsService) -> None:
    assert service.update("host", {"interval_s": 20}, ROOT).sections == ()
    assert service.revision() == 0 and entries(service) == []


def test_export_then_import_changes_nothing_and_keeps_secrets(service: SettingsService) -> None:
    service.update("sources", [PG], ROOT)
    text = service.export_toml()
    assert 'bearer_token = "********"' in text and "s3cret" not in text and "pw-in-dsn" not in text
    assert service.import_toml(text, Actor.cli()).sections == ()
    edited = text.replace("interval_s = 20", "interval_s = 9").replace("raw_days = 3.0", "raw_days = 2.0")
    saved = service.import_toml(edited, Actor("cli:ops", "cli"))
    assert set(saved.sections) == {"host", "retention"}
    now = service.effective()
    assert (now.host.interval_s, now.retention.raw_days) == (9, 2)
    assert now.alerting.channels[0].bearer_token.get_secret_value() == "s3cret-token"  # type: ignore[union-attr]
    assert now.sources[0].dsn.get_secret_value() == PG["dsn"]  # type: ignore[union-attr]
    assert [(e.actor, e.source, e.action) for e in entries(service)][-2:] == [
        ("cli:ops", "cli", "settings.import")
    ] * 2


def test_a_bad_file_names_the_problem_and_its_line_and_saves_nothing(service: SettingsService) -> None:
    text = service.export_toml()
    with pytest.raises(FieldErrors, match="not valid TOML") as err:
        service.import_toml(text + "\n[host\n", ROOT)
    assert "line" in err.value.fields["file"]
    bad = text.replace("interval_s = 20", "interval_s = 0")
    line = bad.splitlines().index("interval_s = 0") + 1
    with pytest.raises(FieldErrors) as err:
        service.import_toml(bad, ROOT)
    assert (
        err.value.fields["host.interval_s"]
        == f"line {line}: host.interval_s: must be greater than or equal to 1 (got 0)"
    )
    with pytest.raises(FieldErrors, match="metrics: takes effect at the next start"):
        service.import_toml(text.replace("port = 9464", "port = 9999"), ROOT)
    with pytest.raises(FieldErrors, match="warp: is not a section"):
        service.import_toml("[warp]\nspeed = 9\n", ROOT)
    assert service.revision() == 0 and entries(service) == []


def test_a_refused_secret_is_not_echoed_in_the_message(service: SettingsService) -> None:
    bad = {**HOOK, "url": "ftp://user:hunter2-pw@127.0.0.1/x"}
    with pytest.raises(FieldErrors) as err:
        service.update("alerting", {"channels": [bad]}, ROOT)
    [(field, message)] = err.value.fields.items()
    assert field == "alerting.channels[0].webhook.url" and "must be an http:// or https:// URL" in message
    assert "hunter2" not in message


def test_reset_brings_the_file_back_and_is_audited(service: SettingsService) -> None:
    service.update("host", {"interval_s": 5}, ROOT)
    saved = service.reset("host", Actor("ada"))
    assert saved.sections == ("host",) and saved.revision == 2
    assert service.effective().host.interval_s == 20  # pulse.toml's value again
    assert service.changes()["host"].value is None and service.revision() == 2  # never goes back
    assert service.reset("host", ROOT).sections == ()  # nothing left to reset
    last = entries(service)[-1]
    assert (last.actor, last.action, last.note) == ("ada", "settings.reset", "interval_s: 5 -> 20")
