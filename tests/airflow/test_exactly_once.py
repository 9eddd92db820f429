"""Exactly once, at the level of the upload task (``publish_channel``), per channel.

- Website: against the real WordPress — lost responses, retries, clears, a draft left by a kill.
- X and Instagram: at the HTTP edge, against *stateful* fakes of the office's account
  (``tests.support.x_fake.XAccount``, ``tests.support.instagram_fake.InstagramAccount``) reached
  through the real hooks (``AIRFLOW_CONN_SOP_TWITTER`` / ``AIRFLOW_CONN_SOP_INSTAGRAM``): a post
  made by a create request shows in the account's timeline/feed, so ``find_existing`` is tested
  against what the earlier attempt really left. Every case ends with exactly one create request
  received and one post on the account; X requests are validated against X API v2's OpenAPI spec.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses

from sop_tasks.airflow.publish import idempotency_key, identify, publish_channel
from sop_tasks.channels.instagram import RECENT_AMOUNT as IG_RECENT_AMOUNT
from sop_tasks.channels.instagram import InstagramPublisher
from sop_tasks.channels.website import slug_for
from sop_tasks.errors import TransientChannelError
from sop_tasks.records.ledger import Ledger
from tests.support import x_fake
from tests.support.approvals import approve_all
from tests.support.faults import ACTED, Killed
from tests.support.instagram_fake import USERNAME as IG_USERNAME
from tests.support.instagram_fake import (
    InstagramAccount,
    disable_instagrapi_sleeps,
    fast_client,
    session_settings,
)
from tests.support.media import make_jpeg
from tests.support.x_fake import XAccount
from tests.support.x_spec import load_x_spec_or_skip


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def _submit(ledger, office_cfg, title: str, publish_at: str | None = None) -> tuple[int, str]:
    run_id = f"manual__{uuid.uuid4().hex}"
    form = {"title": title, "body": "Isi pengumuman.", "channels": ["website"], "media": []}
    out = identify(
        {**form, "publish_at": publish_at} if publish_at else form,
        dag_id="sop_publish",
        run_id=run_id,
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=office_cfg,
    )
    approve_all(ledger, out["submission_id"], office_cfg)  # steps 2–4: the gate lets only this through
    return out["submission_id"], run_id


def _live_posts(site, title: str, key: str) -> list[str]:
    return site.posts_with_slug_prefix(slug_for(title, key))


def _wait_for(pred, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


def test_response_lost_then_retry_posts_once(wordpress, ledger, office_cfg, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json(timeout=1))
    title = f"Respons hilang {uuid.uuid4().hex[:6]}"
    sid, run_id = _submit(ledger, office_cfg, title)
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    wordpress.delay_posts(3)  # WordPress creates the post, but only after the client gave up
    try:
        with pytest.raises(TransientChannelError):
            publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
        _wait_for(lambda: len(_live_posts(wordpress, title, key)) == 1)
    finally:
        wordpress.delay_posts(None)
    statuses = [r.status for r in ledger.channel_results(sid)]
    assert statuses == ["intent", "error"]
    result = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)  # Airflow's retry
    assert result["status"] == "published" and result["post_id"] and result["url"]
    assert len(_live_posts(wordpress, title, key)) == 1
    status = wordpress.sql(f"SELECT post_status FROM wp_posts WHERE ID={result['post_id']}").strip()
    assert status == "publish"


def test_retry_and_clear_after_success_do_not_post_again(wordpress, ledger, office_cfg, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    title = f"Sekali saja {uuid.uuid4().hex[:6]}"
    sid, run_id = _submit(ledger, office_cfg, title)
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    first = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
    again = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)  # retry / cleared task
    assert again["post_id"] == first["post_id"] and again["url"] == first["url"]
    # clearing the whole run re-runs step 1: same submission, so the same settled result
    sid2 = identify(
        {"title": title, "body": "Isi pengumuman.", "channels": ["website"], "media": []},
        dag_id="sop_publish",
        run_id=run_id,
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=office_cfg,
    )["submission_id"]
    assert sid2 == sid
    assert publish_channel("website", sid2, ledger=ledger, cfg=office_cfg)["post_id"] == first["post_id"]
    assert len(_live_posts(wordpress, title, key)) == 1
    published = [r for r in ledger.channel_results(sid) if r.status == "published"]
    assert len(published) == 1 and published[0].post_id == first["post_id"] and published[0].url


def test_an_upload_asked_for_before_its_publish_time_writes_nothing(
    wordpress, ledger, office_cfg, monkeypatch
):
    """The publish time is enforced at the channel write, not only by the task's wait: a cleared,
    re-run or resumed task that reaches the write early is refused, with nothing recorded or sent."""
    import sop_tasks.airflow.publish as publish_mod
    from sop_tasks.errors import NotYetError

    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    title = f"Belum waktunya {uuid.uuid4().hex[:6]}"
    at = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    sid, run_id = _submit(ledger, office_cfg, title, publish_at=at.isoformat())
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    with pytest.raises(NotYetError, match="Belum waktunya tayang") as ei:
        publish_channel("website", sid, ledger=ledger, cfg=office_cfg, run=("sop_publish", run_id))
    assert ei.value.at == at and ei.value.submission_id == sid
    assert ledger.channel_results(sid) == [] and _live_posts(wordpress, title, key) == []

    class _Later(datetime):  # the clock has passed the publish time
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return at + timedelta(seconds=1)

    monkeypatch.setattr(publish_mod, "datetime", _Later)
    result = publish_channel("website", sid, ledger=ledger, cfg=office_cfg, run=("sop_publish", run_id))
    assert result["status"] == "published" and len(_live_posts(wordpress, title, key)) == 1


def test_draft_left_by_a_killed_attempt_is_published_not_duplicated(
    wordpress, ledger, office_cfg, monkeypatch
):
    """An attempt died after creating its draft: the retry publishes that draft."""
    from sop_tasks.channels.website import WordPressCredentials, WordPressPublisher

    monkeypatch.setenv("AIRFLOW_CONN_SOP_WEBSITE", wordpress.conn_json())
    title = f"Draf tertinggal {uuid.uuid4().hex[:6]}"
    sid, run_id = _submit(ledger, office_cfg, title)
    key = idempotency_key(sid, "sop_publish", run_id, "website")
    pub = WordPressPublisher(
        WordPressCredentials(wordpress.url, wordpress.admin_user, wordpress.app_password)
    )
    pub.request("POST", "wp/v2/posts", json={"title": title, "status": "draft", "slug": slug_for(title, key)})
    ledger.add_channel_result(sid, "website", mode="live", status="intent", idempotency_key=key)
    result = publish_channel("website", sid, ledger=ledger, cfg=office_cfg)
    assert len(_live_posts(wordpress, title, key)) == 1
    status = wordpress.sql(f"SELECT post_status FROM wp_posts WHERE ID={result['post_id']}").strip()
    assert status == "publish"


# ---------------------------------------------------------------------- X and Instagram


@dataclass
class Social:
    """One channel's fake account, reached through the real hook, and a submission for it."""

    channel: str
    account: XAccount | InstagramAccount
    rsps: responses.RequestsMock
    lookup_op: str  # how the account logs the read find_existing makes
    sid: int = 0
    run_id: str = ""
    form: dict[str, Any] = field(default_factory=dict)

    @property
    def post(self) -> tuple[str, str]:
        """(id, URL) of the account's only post."""
        assert len(self.account.posts) == 1, self.account.posts
        item = self.account.posts[0]
        if isinstance(self.account, XAccount):
            return str(item["id"]), self.account.post_url(str(item["id"]))
        return str(item["pk"]), self.account.post_url(str(item["code"]))


@pytest.fixture(params=["twitter", "instagram"])
def social(request, ledger, office_cfg, media_dir, monkeypatch) -> Iterator[Social]:
    tag = uuid.uuid4().hex[:6]
    image = make_jpeg(media_dir / f"pameran-{tag}.jpg", (1080, 1080))
    form: dict[str, Any] = {
        "title": f"Pameran arsip {tag}",
        "body": "Pameran arsip dan buku langka di Perpustakaan Daerah Kendal.",
        "channels": [request.param],
        "media": [image.name],
    }
    for name in ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "twitter":
        spec = load_x_spec_or_skip(x_fake.SPEC)
        monkeypatch.setenv("AIRFLOW_CONN_SOP_TWITTER", x_fake.conn_json())
        form["text_twitter"] = (
            f"Pameran arsip & buku langka {tag}, 1–7 Des. Info: https://dinarpus.kendalkab.go.id"
        )
        with x_fake.spec_checked_x(spec, assert_all_requests_are_fired=False) as rsps:
            yield _submitted(Social("twitter", XAccount(rsps), rsps, "lookup", form=form), ledger, office_cfg)
        return
    disable_instagrapi_sleeps(monkeypatch)
    # the hook's publisher, with instagrapi's requests transport (seen by responses), no pauses
    monkeypatch.setattr(InstagramPublisher, "_default_client", lambda self: fast_client())
    monkeypatch.setenv(
        "AIRFLOW_CONN_SOP_INSTAGRAM",
        json.dumps({"conn_type": "instagram_sop", "login": IG_USERNAME, "password": "rahasia-kantor-123"}),
    )
    monkeypatch.setenv("AIRFLOW_VAR_SOP_INSTAGRAM_SESSION_SECRET", json.dumps(session_settings()))
    form["caption_instagram"] = f"Pameran arsip {tag} dibuka hari ini.\n\nDatang ke Dinarpus! #Kendal"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        account = InstagramAccount(rsps)
        yield _submitted(
            Social("instagram", account, rsps, f"lookup:{IG_RECENT_AMOUNT}", form=form), ledger, office_cfg
        )


def _submitted(s: Social, ledger: Ledger, office_cfg: Any) -> Social:
    s.run_id = f"manual__{uuid.uuid4().hex}"
    s.sid = _identify(s, ledger, office_cfg)
    return s


def _identify(s: Social, ledger: Ledger, office_cfg: Any) -> int:
    out = identify(
        dict(s.form),
        dag_id="sop_publish",
        run_id=s.run_id,
        submitted_by="pengelola_ti",
        run_started=None,
        ledger=ledger,
        cfg=office_cfg,
    )
    if not ledger.events(int(out["submission_id"]))[1:]:  # a cleared run finds its approvals recorded
        approve_all(ledger, int(out["submission_id"]), office_cfg)
    return int(out["submission_id"])


def _statuses(ledger: Ledger, s: Social) -> list[str]:
    return [r.status for r in ledger.channel_results(s.sid) if r.channel == s.channel]


def _assert_settled_once(result: dict[str, Any], s: Social, ledger: Ledger) -> None:
    """One create request, one post, and task result and record both carry its id and URL."""
    post_id, url = s.post
    assert s.account.creates == 1
    assert (result["status"], result["mode"]) == ("published", "live")
    assert (result["post_id"], result["url"]) == (post_id, url)
    published = [
        r for r in ledger.channel_results(s.sid) if r.channel == s.channel and r.status == "published"
    ]
    assert len(published) == 1
    assert (published[0].post_id, published[0].url) == (post_id, url)
    final = ledger.final_result(s.sid, s.channel)
    assert final is not None and (final.post_id, final.url) == (post_id, url)


@pytest.mark.parametrize("fault", ["lost", "5xx_after"])
def test_platform_posted_but_the_answer_was_lost_then_the_retry_finds_it(
    social: Social, ledger, office_cfg, fault: str
) -> None:
    social.account.fail("create", fault)
    with pytest.raises(TransientChannelError):
        publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)
    assert len(social.account.posts) == 1  # it is there; the task does not know
    assert _statuses(ledger, social) == ["intent", "error"]

    mark = len(social.account.log)
    result = publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)  # Airflow's retry

    assert social.account.log[mark] == social.lookup_op  # looked first…
    assert "create" not in social.account.log[mark:]  # …found it, sent no second post
    _assert_settled_once(result, social, ledger)


def test_5xx_before_the_post_existed_then_a_plain_retry_posts_once(
    social: Social, ledger, office_cfg
) -> None:
    social.account.fail("upload", "5xx")  # the media upload fails: nothing was posted
    with pytest.raises(TransientChannelError):
        publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)
    assert social.account.posts == [] and social.account.creates == 0
    assert _statuses(ledger, social) == ["intent", "error"]

    mark = len(social.account.log)
    result = publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)

    retry = social.account.log[mark:]
    assert retry[0] == social.lookup_op and retry.count("create") == 1
    _assert_settled_once(result, social, ledger)


def test_cleared_after_success_returns_the_recorded_result_without_any_request(
    social: Social, ledger, office_cfg
) -> None:
    first = publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)
    _assert_settled_once(first, social, ledger)
    sent = len(social.rsps.calls)

    again = publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)  # task cleared
    assert _identify(social, ledger, office_cfg) == social.sid  # whole run cleared: same submission
    rerun = publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)

    assert len(social.rsps.calls) == sent  # not one HTTP request more
    for result in (again, rerun):
        assert {k: result[k] for k in ("status", "post_id", "url")} == {
            k: first[k] for k in ("status", "post_id", "url")
        }
    _assert_settled_once(first, social, ledger)


@pytest.mark.parametrize(
    ("op", "fault"),
    [("upload", "killed"), ("create", "killed_after")],
    ids=["killed-before-posting", "killed-after-posting"],
)
def test_killed_mid_publish_then_a_fresh_attempt_looks_first_and_posts_once(
    social: Social, ledger, office_cfg, op: str, fault: str
) -> None:
    social.account.fail(op, fault)
    with pytest.raises(Killed):  # the worker died: no error handler ran
        publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)
    assert _statuses(ledger, social) == ["intent"]  # intent recorded, no result
    posted_before = len(social.account.posts)
    assert posted_before == (1 if fault in ACTED else 0)

    mark = len(social.account.log)
    result = publish_channel(social.channel, social.sid, ledger=ledger, cfg=office_cfg)  # a fresh attempt

    fresh = social.account.log[mark:]
    assert fresh[0] == social.lookup_op  # looks up first
    assert fresh.count("create") == (0 if posted_before else 1)  # posts only when nothing was there
    _assert_settled_once(result, social, ledger)
