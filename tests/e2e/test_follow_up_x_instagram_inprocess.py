"""Monitor → follow-up → reply, in-process on real Airflow, with X and Instagram at the HTTP edge.

The website's chain runs against the real WordPress (``test_monitor_follow_up_inprocess.py``);
here the same chain runs for the two other channels, through the real hooks built from
``AIRFLOW_CONN_SOP_TWITTER`` / ``AIRFLOW_CONN_SOP_INSTAGRAM`` (the other channels' connections
absent), with the platforms answered by ``responses``:

1. ``sop_monitor`` runs under ``dag.test()``: the sweep reads the citizen's message, records it,
   routes it to Perpustakaan, forwards it and queues that bidang's ``sop_follow_up`` run;
2. that run is executed under ``dag.test()`` (same logical date and conf, as the scheduler would
   start it) and answered through the real REST app: another bidang's user is refused (403), the
   Perpustakaan user chooses *Balas* with a reply;
3. step 9 posts the reply where the message came from — exactly one request — and record 3 holds
   it with its URL.

Every X request (sweep and reply) is validated against X API v2's OpenAPI spec when the mock
closes. The REST answers go through FastAPI's TestClient (httpx), which ``responses`` does not see,
so every request ``responses`` records was sent by the tasks.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sop_tasks.airflow import followup as fua
from sop_tasks.airflow.ledger import get_ledger
from sop_tasks.followup import OPTION_REPLY, FollowUps
from sop_tasks.records.inbox import Inbox
from tests.support import instagram_fake as igf
from tests.support import x_fake
from tests.support.airflow_api import Answer, follow_up_form, run_answered
from tests.support.x_spec import load_x_spec_or_skip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
DECIDE = fua.DECIDE_TASK
CONNS = ("AIRFLOW_CONN_SOP_WEBSITE", "AIRFLOW_CONN_SOP_TWITTER", "AIRFLOW_CONN_SOP_INSTAGRAM")


@pytest.fixture(scope="module")
def follow_up_dag(airflow_db: None) -> Any:
    """sop_follow_up parsed for this module alone. In-process, Airflow resolves a run's conf into
    the DAG object's own ``Param`` objects (``process_params`` → ``Param.resolve`` keeps the value):
    after a run with ``bidang`` in its conf, a later run of the *same object* without it would get
    that bidang as its default. A worker parses the DAG afresh for every task, so only tests that
    share a DAG object are exposed; this module's runs (conf with ``bidang``) must not leak into the
    session's ``dagbag``."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(REPO / "dags" / "sop_follow_up.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["sop_follow_up"]


def _only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No channel connection but the one the test defines next (restored afterwards)."""
    for name in CONNS:
        monkeypatch.delenv(name, raising=False)


def _swept(dagbag: Any, channel: str, platform_id: str) -> tuple[Any, Any]:
    """Run sop_monitor once; (its run, the item it recorded for ``platform_id``)."""
    dr = dagbag.dags["sop_monitor"].test()
    assert dr.state == "success", dr.state
    items = [i for i in Inbox(get_ledger()).items() if i.channel == channel and i.platform_id == platform_id]
    assert len(items) == 1, items
    return dr, items[0]


def _assert_forwarded_and_queued(item: Any, monitor_run: Any) -> tuple[dict[str, Any], datetime]:
    """Routed to Perpustakaan, forwarded by this sweep, its follow-up queued for the scheduler:
    returns that queued run's conf and logical date."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    inbox = Inbox(get_ledger())
    assert item.bidang == "perpustakaan" and not item.spam
    sweep = next(s for s in inbox.sweeps() if s.run_id == monitor_run.run_id)
    assert sweep.status == "ok" and sweep.channels == [item.channel]
    assert sweep.counts[item.channel] == {"status": "ok", "collected": 1, "new": 1, "spam": 0}
    forwarded = [(f.bidang, f.sweep_id) for f in inbox.forwards() if f.item_id == item.id]
    assert forwarded == [("perpustakaan", sweep.id)]
    others = {c: n["status"] for c, n in sweep.counts.items() if c != item.channel}
    assert others and set(others.values()) == {"outbox"}  # no connection: not read
    run_id = fua.follow_up_run_id(item.id, "perpustakaan")
    assert run_id == f"tindak_lanjut__item{item.id}__perpustakaan"
    with create_session() as s:
        run = s.scalars(select(DagRun).where(DagRun.dag_id == "sop_follow_up", DagRun.run_id == run_id)).one()
        assert str(getattr(run.run_type, "value", run.run_type)) == "operator_triggered"
        assert str(getattr(run.state, "value", run.state)) == "queued"  # for the scheduler to start
        conf, logical_date = dict(run.conf), run.logical_date
    assert conf == {"item_id": item.id, "bidang": "perpustakaan"}
    return conf, logical_date


def _answered(dag: Any, rest_api: Any, conf: dict[str, Any], logical_date: datetime, reply: str) -> Any:
    """The queued follow-up, run as the scheduler would start it (no scheduler runs in-process:
    ``dag.test()`` replaces the queued run by one with its logical date and conf), answered by
    another bidang (refused) and then by Perpustakaan with *Balas*."""
    dr, answerer = run_answered(
        dag,
        rest_api,
        {
            DECIDE: [
                Answer("bidang_kearsipan", OPTION_REPLY, reason=reply, expect_status=403),
                Answer("bidang_perpustakaan", OPTION_REPLY, reason=reply),
            ]
        },
        conf,
        90,
        params_for=follow_up_form,
        logical_date=logical_date,
    )
    assert [(user, status) for _, user, status, _ in answerer.log] == [
        ("bidang_kearsipan", 403),
        ("bidang_perpustakaan", 200),
    ]
    assert dr.state == "success", dr.state
    return dr


def _recorded_reply(item: Any, reply: str) -> dict[str, Any]:
    """Record 3: one reply posted live, with the platform's id and URL; the row says who answered."""
    fu = FollowUps(get_ledger())
    results = fu.reply_results(item.id)
    assert [r.status for r in results] == ["intent", "published"]
    posted = results[-1]
    assert posted.mode == "live" and posted.post_id and posted.url
    row = next(r for r in fu.summaries() if r["item_id"] == item.id and r["bidang"] == "perpustakaan")
    assert row["status"] == "reply" and row["reply_text"] == reply
    assert row["answered_by"] == "bidang_perpustakaan"
    assert row["posted"] == {"mode": "live", "post_id": posted.post_id, "url": posted.url}
    assert row["seconds_incoming_to_forwarded"] is not None and row["seconds_answered_to_posted"] is not None
    return dict(row)


# ---------------------------------------------------------------------- X


WARGA_X = {"id": "2200000000000000031", "name": "Rina Warga", "username": "rina_kendal"}


def test_x_mention_swept_forwarded_answered_and_replied_once(
    dagbag, follow_up_dag, rest_api, monkeypatch
) -> None:
    spec = load_x_spec_or_skip(x_fake.SPEC)
    _only(monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_SOP_TWITTER", x_fake.conn_json())
    created = datetime.now(UTC) - timedelta(minutes=5)
    mention_id = x_fake.snowflake(created)
    reply_id = x_fake.snowflake(datetime.now(UTC), sequence=7)
    text = f"@{x_fake.USERNAME} Min perpus buka jam brp hari sabtu? {uuid.uuid4().hex[:4]}"
    reply = f"Halo Kak, Sabtu buka 08.00–12.00 WIB. Salam, Perpustakaan {uuid.uuid4().hex[:4]}"
    citizen = x_fake.mention(mention_id, text, WARGA_X, created.strftime("%Y-%m-%dT%H:%M:%S.000Z"))

    before = Inbox(get_ledger()).watermark("twitter", "sop_twitter")
    with x_fake.spec_checked_x(spec, assert_all_requests_are_fired=False) as rsps:
        x_fake.add_me(rsps)
        rsps.get(x_fake.MENTIONS_URL, json=x_fake.mentions_page(spec, [citizen], [WARGA_X]))
        x_fake.add_post(rsps, reply_id, f"@{WARGA_X['username']} {reply}")

        monitor_run, item = _swept(dagbag, "twitter", mention_id)
        swept = x_fake.calls(rsps)
        (read,) = [c for c in rsps.calls if urlsplit(str(c.request.url)).path.endswith("/mentions")]

        assert (item.kind, item.author, item.text) == ("mention", "@rina_kendal", text)
        assert item.url == f"https://x.com/rina_kendal/status/{mention_id}"
        conf, logical_date = _assert_forwarded_and_queued(item, monitor_run)
        _answered(follow_up_dag, rest_api, conf, logical_date, reply)
        replied = x_fake.calls(rsps)[len(swept) :]
        posts = [c.request for c in rsps.calls if c.request.method == "POST"]
    # (leaving the block validated every request above against X API v2's OpenAPI spec)

    # step 6 read the account once, then one page of mentions (a first sweep pays for no more)
    assert swept == [("GET", "/2/users/me"), ("GET", f"/2/users/{x_fake.USER_ID}/mentions")]
    query = parse_qs(urlsplit(str(read.request.url)).query)
    assert query["max_results"] == ["100"] and query.get("since_id") == ([before] if before else None)
    assert query["expansions"] == ["author_id"] and "author_id" in query["tweet.fields"][0]
    assert Inbox(get_ledger()).watermark("twitter", "sop_twitter") == mention_id

    # step 9: exactly one post, a reply to the citizen's mention, and nothing else written
    assert replied == [("GET", "/2/users/me"), ("POST", "/2/tweets")]
    (post,) = posts
    assert x_fake.json_body(post) == {"text": reply, "reply": {"in_reply_to_tweet_id": mention_id}}
    assert str(post.headers["Authorization"]).startswith("OAuth ")

    row = _recorded_reply(item, reply)
    assert row["posted"]["post_id"] == reply_id
    assert row["posted"]["url"] == f"https://x.com/{x_fake.USERNAME}/status/{reply_id}"
    assert row["channel"] == "twitter" and row["item_url"] == item.url
    x_fake.assert_no_secrets(json.dumps(row, default=str))


# ---------------------------------------------------------------------- Instagram


WARGA_IG = {"pk": 7100000031, "username": "rina.kendal", "full_name": "Rina Warga"}


def test_instagram_comment_swept_forwarded_answered_and_replied_once(
    dagbag, follow_up_dag, rest_api, monkeypatch
) -> None:
    _only(monkeypatch)
    igf.live_connection(monkeypatch)
    created = int(time.time()) - 300
    comment_pk = str(18100000000000000 + int(uuid.uuid4().int % 10**8))
    reply_pk = str(int(comment_pk) + 1)
    text = f"Min mau tanya syarat bikin kartu anggota perpustakaan gimana ya? {uuid.uuid4().hex[:4]}"
    reply = f"Halo Kak, cukup bawa KTP ke layanan sirkulasi, gratis. {uuid.uuid4().hex[:4]}"
    office = {"pk": int(igf.USER_ID), "username": igf.USERNAME, "full_name": "Dinarpus Kendal"}
    post = igf.media_item(igf.MEDIA_PK, igf.CODE, igf.CAPTION)
    post["comment_count"] = 1

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ig = igf.InstagramFake(rsps)
        ig.recent([post])
        rsps.add(
            responses.GET,
            igf.comments_url(),
            json=igf.comments_page(igf.comment(comment_pk, text, WARGA_IG, created)),
        )
        igf.no_direct_messages(ig)
        igf.media_info(ig)
        rsps.add(
            responses.POST,
            igf.comment_url(),
            json={
                "comment": igf.comment(reply_pk, reply, office, int(time.time()), replied_to=comment_pk),
                "status": "ok",
            },
        )

        monitor_run, item = _swept(dagbag, "instagram", comment_pk)
        swept = len(rsps.calls)
        sweep_reads = [(str(c.request.method), str(c.request.url).split("?", 1)[0]) for c in rsps.calls]

        assert (item.kind, item.author, item.text) == ("comment", "rina.kendal", text)
        assert item.post_ref == str(igf.MEDIA_PK)
        assert item.url == f"https://www.instagram.com/p/{igf.CODE}/"
        conf, logical_date = _assert_forwarded_and_queued(item, monitor_run)
        _answered(follow_up_dag, rest_api, conf, logical_date, reply)
        replied = [(str(c.request.method), str(c.request.url).split("?", 1)[0]) for c in rsps.calls[swept:]]
        comment_posts = ig.calls("POST", igf.comment_url())
        logins = ig.login_attempts

    # step 6 used the stored session as it is (no login) and read the post, its comments, the DMs
    assert logins == 0
    assert sweep_reads == [
        ("GET", igf.feed_url()),
        ("GET", igf.comments_url()),
        ("GET", igf.INBOX_URL),
        ("GET", igf.PENDING_INBOX_URL),
    ]
    mark = json.loads(Inbox(get_ledger()).watermark("instagram", "sop_instagram") or "{}")
    assert mark["comment_created_at"] == created
    # step 9: one read of the post, then exactly one comment: the reply under the citizen's comment
    assert replied == [("GET", igf.INFO_URL), ("POST", igf.comment_url())]
    (sent,) = comment_posts
    form_sent = ig.form(sent)
    assert form_sent["replied_to_comment_id"] == int(comment_pk)
    assert form_sent["comment_text"] == reply and form_sent["media_id"] == igf.MEDIA_ID

    row = _recorded_reply(item, reply)
    assert row["posted"]["post_id"] == reply_pk
    assert row["posted"]["url"] == f"https://www.instagram.com/p/{igf.CODE}/"
    assert row["channel"] == "instagram"
    igf.assert_no_secrets(json.dumps(row, default=str))
