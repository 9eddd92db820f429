"""Hooks built from connections, and how the upload task turns channel errors into Airflow's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from airflow.sdk.exceptions import AirflowFailException, AirflowRescheduleException

from sop_tasks.airflow import operators
from sop_tasks.airflow.hooks import InstagramHook, WordPressHook, XHook
from sop_tasks.airflow.publish import publisher_for
from sop_tasks.channels import OutboxPublisher
from sop_tasks.errors import ActionRequiredError, NotYetError, RateLimitedError


def test_no_connection_means_outbox(office_cfg, monkeypatch):
    for name in ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM"):
        monkeypatch.delenv(name, raising=False)
    for channel in ("website", "twitter", "instagram"):
        assert isinstance(publisher_for(channel, office_cfg), OutboxPublisher)


def test_wordpress_connection_json_form_and_test_button(wordpress, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    ok, msg = WordPressHook().test_connection()
    assert ok and "admin" in msg
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json(password="salah salah salah"))
    ok, msg = WordPressHook().test_connection()
    assert not ok and "sop_website" in msg and "salah" not in msg


def test_x_connection_four_keys(monkeypatch):
    conn = {
        "conn_type": "x_twitter",
        "login": "api-key",
        "password": "api-secret",
        "extra": {"access_token": "tok", "access_token_secret": ""},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SOP_TWITTER", json.dumps(conn))
    ok, msg = XHook().test_connection()
    assert not ok and "access_token_secret" in msg and "api-secret" not in msg
    conn["extra"]["access_token_secret"] = "tok-secret"
    monkeypatch.setenv("AIRFLOW_CONN_SOP_TWITTER", json.dumps(conn))
    with responses.RequestsMock() as rsps:
        rsps.get(
            "https://api.twitter.com/2/users/me",
            json={"data": {"id": "1", "name": "Dinarpus", "username": "dinarpus"}},
        )
        ok, msg = XHook().test_connection()
    assert ok and "dinarpus" in msg


class _Ti:
    def xcom_pull(self, task_ids):
        return {"submission_id": 1, "channels": ["website"]}


class _Ledger:
    def __init__(self):
        self.events = []

    def add_event(self, sid, step, event, **kw):
        self.events.append((sid, step, event, kw.get("detail")))


def test_upload_refused_as_too_early_defers_until_then_then_writes(monkeypatch, office_cfg):
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger
    from airflow.sdk.exceptions import TaskDeferred

    op = operators.PublishChannelOperator(channel="website", cfg=office_cfg)
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    ledger = _Ledger()
    now = {"t": datetime.now(UTC)}
    writes = []

    def publish(*a, **k):  # the channel write refuses until its publish time (tested in test_exactly_once)
        if now["t"] < at:
            raise NotYetError(1, at)
        writes.append(a)
        return {"mode": "live"}

    monkeypatch.setattr(operators, "get_ledger", lambda: ledger)
    monkeypatch.setattr(operators, "publish_channel", publish)
    with pytest.raises(TaskDeferred) as ei:
        op.execute({"ti": _Ti()})
    assert isinstance(ei.value.trigger, DateTimeTrigger) and ei.value.trigger.moment == at
    assert ei.value.method_name == "execute_complete"
    assert writes == []  # nothing is written before the publish time
    assert ledger.events == [(1, 5, "scheduled", {"publish_at": at.isoformat(), "channel": "website"})]

    # resumed on a worker whose clock still lags: waits again, no second "scheduled" record
    with pytest.raises(TaskDeferred):
        op.execute_complete({"ti": _Ti()})
    assert writes == [] and len(ledger.events) == 1

    now["t"] = at
    assert op.execute_complete({"ti": _Ti()}) == {"mode": "live"} and len(writes) == 1
    assert len(ledger.events) == 1


def test_rate_limit_reschedules_and_app_action_fails_without_retry(monkeypatch, office_cfg):
    op = operators.PublishChannelOperator(channel="website", cfg=office_cfg)
    reset = datetime.now(UTC) + timedelta(minutes=7)

    def limited(*a, **k):
        raise RateLimitedError("website", "429", reset)

    monkeypatch.setattr(operators, "publish_channel", limited)
    monkeypatch.setattr(operators, "get_ledger", lambda: None)
    with pytest.raises(AirflowRescheduleException) as ei:
        op.execute({"ti": _Ti()})
    assert ei.value.reschedule_date == reset

    def challenge(*a, **k):
        raise ActionRequiredError("instagram", "buka aplikasi Instagram")

    monkeypatch.setattr(operators, "publish_channel", challenge)
    with pytest.raises(AirflowFailException, match="buka aplikasi Instagram"):
        op.execute({"ti": _Ti()})


def test_connection_types_are_registered_with_airflow_with_indonesian_forms():
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    pm = ProvidersManager()  # the api-server's view: the Connections form
    hooks = ProvidersManagerTaskRuntime().hooks  # the tasks' view (ProvidersManager.hooks is deprecated)
    for conn_type, hook_cls in (
        ("wordpress", WordPressHook),
        ("x_twitter", XHook),
        ("instagram_sop", InstagramHook),
    ):
        info = hooks[conn_type]
        assert info is not None and info.hook_class_name.endswith(hook_cls.__name__)
        assert info.hook_name == hook_cls.hook_name
    forms = pm.field_behaviours
    assert forms["wordpress"]["relabeling"]["host"] == "Alamat situs"
    assert forms["wordpress"] == WordPressHook.get_ui_field_behaviour()
    assert "access_token_secret" in pm.connection_form_widgets or any(
        k.endswith("access_token_secret") for k in pm.connection_form_widgets
    )


# ---- one client per hook, one registry --------------------------------------------------------
CONNS = {
    "AIRFLOW_CONN_SOP_WEBSITE": {
        "conn_type": "wordpress",
        "host": "https://situs.contoh",
        "login": "u",
        "password": "p",
    },
    "AIRFLOW_CONN_SOP_TWITTER": {
        "conn_type": "x_twitter",
        "login": "api-key",
        "password": "api-secret",
        "extra": {"access_token": "tok", "access_token_secret": "tok-secret"},
    },
    "AIRFLOW_CONN_SOP_INSTAGRAM": {"conn_type": "instagram_sop", "login": "dinarpus", "password": "rahasia"},
}


@pytest.mark.parametrize(
    ("channel", "conn_id", "client", "collector"),
    [
        ("website", "sop_website", "WordPressApi", "WordPressCollector"),
        ("twitter", "sop_twitter", "XApi", "XCollector"),
        ("instagram", "sop_instagram", "InstagramApi", "InstagramCollector"),
    ],
)
def test_each_hook_returns_its_one_cached_client(
    channel, conn_id, client, collector, office_cfg, monkeypatch
):
    from sop_tasks.airflow import hooks

    for name, conn in CONNS.items():
        monkeypatch.setenv(name, json.dumps(conn))
    hook = hooks.hook_for(channel, conn_id, office_cfg)
    assert type(hook) is hooks.HOOKS[channel] and hook.channel == channel
    api = hook.get_conn()
    assert type(api).__name__ == client and api.channel == channel and api.mode == "live"
    assert hook.get_conn() is api  # built once per hook: one session, one cached profile read
    assert hooks.hook_for(channel, conn_id, office_cfg).get_conn() is not api  # a new hook, a new client
    assert type(hooks.collector_for(channel, conn_id, office_cfg)).__name__ == collector


def test_the_hook_registry_knows_exactly_the_three_channels(office_cfg):
    from sop_tasks.airflow import hooks

    assert hooks.HOOKS == {"website": WordPressHook, "twitter": XHook, "instagram": InstagramHook}
    with pytest.raises(LookupError):
        hooks.hook_for("facebook", "sop_facebook", office_cfg)
    with pytest.raises(LookupError):
        hooks.collector_for("facebook", "sop_facebook", office_cfg)
