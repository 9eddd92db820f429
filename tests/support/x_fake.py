"""X (Twitter) at the HTTP edge for tests: the account's constants, request helpers, and a
stateful fake account.

- Constants and helpers shared by the X test modules (the office's account, its keys, URLs,
  ``media_file``/``content`` builders, multipart/JSON body readers).
- :func:`spec_checked_x` — a ``responses`` mock whose every request is validated against X API
  v2's OpenAPI spec (``shared/specs``) when the block ends; the fixtures :func:`x_spec` and
  :func:`x_api` (offered to ``tests/sop_tasks/channels`` by its ``conftest.py``) wrap it and skip,
  with the reason, where the spec file is absent.
- Timeline answers and the queries that read it (:func:`timeline`, :func:`post`,
  :func:`replies_read`, :func:`posts_read`), :func:`add_post`, :func:`calls`.
- :class:`XAccount` — a *stateful* fake account: ``POST /2/tweets`` really adds a post that the
  timeline (``GET /2/users/:id/tweets``) then shows, the way X shows it (``&`` as ``&amp;``, links
  as ``t.co``, a media link appended). Faults can be queued per operation (see :data:`FAULTS`),
  so exactly-once tests can lose a response *after* X made the post, answer 5xx before it did,
  or "kill" the process in the middle of a request (:mod:`tests.support.faults`).
- Mentions, as ``XCollector`` reads them (SOP step 6): :data:`MENTIONS_URL`, :func:`mention`,
  :func:`mentions_page` (checked against the spec's response schema), :func:`snowflake` ids.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from sop_tasks.channels.twitter import XCredentials
from sop_tasks.content import MediaFile, PreparedContent
from tests.support.faults import FaultQueue, Killed
from tests.support.x_spec import SPEC_PATH, XSpec, load_x_spec_or_skip

SPEC = SPEC_PATH
TW = "https://api.twitter.com/2"  # tweepy's host
MEDIA = "https://api.x.com/2/media/upload"  # the spec's server
ME_URL = f"{TW}/users/me"
TWEETS_URL = f"{TW}/tweets"
USER_ID = "1500000000000000001"
USERNAME = "dinarpuskendal"
TIMELINE_URL = f"{TW}/users/{USER_ID}/tweets"
POST_ID = "1800000000000000001"  # a post the office published
NEW_ID = "1800000000000000070"  # the corrected post / correction reply
RESET = 1893456000  # 2030-01-01T00:00:00Z, as ``x-rate-limit-reset``

CREDS = XCredentials(
    api_key="ck-Kendal-API-KEY-1111",
    api_secret="cs-Kendal-API-SECRET-2222",
    access_token="1500000000000000001-AccessTOKEN3333",
    access_token_secret="ats-Kendal-TOKEN-SECRET-4444",
)
SECRETS = (CREDS.api_key, CREDS.api_secret, CREDS.access_token, CREDS.access_token_secret)
TEXT = (
    "Pameran arsip & buku langka di Perpustakaan Daerah Kendal, 1–7 Des. "
    "Info: https://dinarpus.kendalkab.go.id/pameran #Kendal"
)
CORRECTED = (
    "[Ralat] Pameran arsip & buku langka di Perpustakaan Daerah Kendal, 2–8 Des. "
    "Info: https://dinarpus.kendalkab.go.id/pameran #Kendal"
)


def conn_json(creds: XCredentials = CREDS) -> str:
    """``AIRFLOW_CONN_SOP_TWITTER`` for the office's account (what an admin would set)."""
    return json.dumps(
        {
            "conn_type": "x_twitter",
            "login": creds.api_key,
            "password": creds.api_secret,
            "extra": {"access_token": creds.access_token, "access_token_secret": creds.access_token_secret},
        }
    )


@contextmanager
def spec_checked_x(
    spec: XSpec, *, assert_all_requests_are_fired: bool = True
) -> Iterator[responses.RequestsMock]:
    """Mocked X; when the block ends, every request sent is validated against the spec."""
    with responses.RequestsMock(assert_all_requests_are_fired=assert_all_requests_are_fired) as rsps:
        yield rsps
        spec.validate_calls(rsps.calls)


@pytest.fixture
def x_spec() -> XSpec:
    """X API v2's OpenAPI spec; the test skips (with the reason) where the file is absent."""
    return load_x_spec_or_skip(SPEC)


@pytest.fixture
def x_api(x_spec: XSpec) -> Iterator[responses.RequestsMock]:
    """Mocked X; afterwards every request sent is validated against the spec."""
    with spec_checked_x(x_spec) as rsps:
        yield rsps


# ---- builders and body readers -----------------------------------------------------------------


def media_file(path: Path, kind: str, fmt: str) -> MediaFile:
    data = path.read_bytes()
    return MediaFile(
        source=path.name,
        path=str(path),
        kind=kind,
        format=fmt,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def content(text: str = TEXT, media: tuple[MediaFile, ...] = ()) -> PreparedContent:
    return PreparedContent(
        title="Pameran Arsip",
        body="Pameran arsip dan buku langka.",
        channels=("twitter",),
        caption_instagram="",
        text_twitter=text,
        media=media,
    )


def add_me(rsps: responses.RequestsMock) -> None:
    """``GET /2/users/me``: the office's account (every publisher asks once)."""
    rsps.get(ME_URL, json={"data": {"id": USER_ID, "name": "Dinarpus Kendal", "username": USERNAME}})


def add_post(rsps: responses.RequestsMock, post_id: str, text: str) -> None:
    """``POST /2/tweets`` answered with the new post ``post_id``."""
    rsps.post(TWEETS_URL, status=201, json={"data": {"id": post_id, "text": text}})


def post(post_id: str, text: str, replied_to: str | None = None) -> dict[str, Any]:
    """A post as the timeline lists it (a reply names the post it answers)."""
    item: dict[str, Any] = {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}
    if replied_to:
        item["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
    return item


def timeline(*posts: dict[str, Any]) -> dict[str, Any]:
    """A timeline answer (``GET /2/users/:id/tweets``) listing ``posts``."""
    if not posts:
        return {"meta": {"result_count": 0}}
    return {"data": list(posts), "meta": {"result_count": len(posts)}}


def replies_read(since_id: str) -> Any:
    """The query find_reply / update(mode="reply") sends: replies included, newer than the original."""
    return matchers.query_param_matcher(
        {
            "max_results": "50",
            "exclude": "retweets",
            "since_id": since_id,
            "tweet.fields": "referenced_tweets",
        }
    )


def posts_read(since_id: str) -> Any:
    """The query update(mode="repost") sends: own posts (no replies) newer than the original."""
    return matchers.query_param_matcher(
        {"max_results": "20", "exclude": "replies,retweets", "since_id": since_id}
    )


def calls(rsps: responses.RequestsMock) -> list[tuple[str, str]]:
    """The requests sent, as (method, path)."""
    return [(str(c.request.method), urlsplit(str(c.request.url)).path) for c in rsps.calls]


def form_fields(request: requests.PreparedRequest) -> dict[str, bytes]:
    """A multipart request's fields (file parts as their bytes)."""
    ctype = request.headers["Content-Type"]
    ctype = ctype.decode() if isinstance(ctype, bytes) else ctype
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    fields: dict[str, bytes] = {}
    for part in msg.iter_parts():
        payload = part.get_payload(decode=True)
        fields[str(part.get_param("name", header="content-disposition"))] = (
            payload if isinstance(payload, bytes) else b""
        )
    return fields


def json_body(request: requests.PreparedRequest) -> Any:
    return json.loads(request.body or b"")


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# ---- the stateful account ------------------------------------------------------------------------


def _as_x_shows(text: str, with_media: bool, n: int) -> str:
    """A post's text as the timeline returns it: entities escaped, links shortened, media linked."""
    shown = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    shown = re.sub(r"https?://\S+", lambda m: f"https://t.co/L{n:04d}{len(m.group())}", shown)
    return f"{shown} https://t.co/M{n:04d}" if with_media else shown


class XAccount:
    """The office's X account, faked statefully on a ``responses`` mock.

    ``fail(op, kind)`` queues a fault for the next request of ``op``: ``"upload"`` (one-shot media
    upload), ``"create"`` (``POST /2/tweets``), ``"lookup"`` (the timeline read). ``log`` lists the
    operations asked, in order; ``creates`` counts the create requests received, whatever
    happened to them.
    """

    def __init__(
        self, rsps: responses.RequestsMock, user_id: str = USER_ID, username: str = USERNAME
    ) -> None:
        self.rsps = rsps
        self.user_id = user_id
        self.username = username
        self.posts: list[dict[str, Any]] = []  # newest first, as X lists them
        self.log: list[str] = []
        self.creates = 0
        self._faults = FaultQueue(("upload", "create", "lookup"))
        self._ids = itertools.count(1800000000000000101)
        self._media_ids = itertools.count(1910000000000000001)
        rsps.add_callback(responses.GET, ME_URL, callback=self._me)
        rsps.add_callback(responses.POST, MEDIA, callback=self._upload)
        rsps.add_callback(responses.POST, TWEETS_URL, callback=self._create)
        rsps.add_callback(responses.GET, f"{TW}/users/{user_id}/tweets", callback=self._timeline)

    def fail(self, op: str, kind: str) -> None:
        """Queue fault ``kind`` (one of :data:`tests.support.faults.FAULTS`) for the next ``op``."""
        self._faults.add(op, kind)

    def post_url(self, post_id: str) -> str:
        return f"https://x.com/{self.username}/status/{post_id}"

    @property
    def create_calls(self) -> list[Any]:
        return [c for c in self.rsps.calls if c.request.method == "POST" and c.request.url == TWEETS_URL]

    # ---- callbacks

    def _run(self, op: str, do: Any) -> tuple[int, dict[str, str], str]:
        """Apply the queued fault of ``op`` around ``do()`` (which returns the JSON answer)."""
        self.log.append(op)
        kind = self._faults.take(op)
        if kind == "killed":
            raise Killed(f"{op}: killed while sending")
        if kind == "5xx":
            return 503, {}, json.dumps({"title": "Service Unavailable", "detail": "Service Unavailable"})
        status, answer = do()
        if kind == "lost":
            raise requests.exceptions.ReadTimeout(f"{op}: read timed out (the answer was lost)")
        if kind == "killed_after":
            raise Killed(f"{op}: killed before the answer was read")
        if kind == "5xx_after":
            return 503, {}, json.dumps({"title": "Service Unavailable", "detail": "Service Unavailable"})
        return status, {"Content-Type": "application/json"}, json.dumps(answer)

    def _me(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        me = {"data": {"id": self.user_id, "name": "Dinarpus Kendal", "username": self.username}}
        return 200, {"Content-Type": "application/json"}, json.dumps(me)

    def _upload(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        def do() -> tuple[int, dict[str, Any]]:
            media_id = str(next(self._media_ids))
            return 200, {
                "data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(request.body or b"")}
            }

        return self._run("upload", do)

    def _create(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.creates += 1

        def do() -> tuple[int, dict[str, Any]]:
            body = json_body(request)
            post_id = str(next(self._ids))
            with_media = bool((body.get("media") or {}).get("media_ids"))
            post = {
                "id": post_id,
                "text": _as_x_shows(body.get("text") or "", with_media, len(self.posts)),
                "edit_history_tweet_ids": [post_id],
            }
            self.posts.insert(0, post)
            return 201, {"data": {"id": post_id, "text": post["text"], "edit_history_tweet_ids": [post_id]}}

        return self._run("create", do)

    def _timeline(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(str(request.url)).query)
        limit = int(query.get("max_results", ["10"])[0])

        def do() -> tuple[int, dict[str, Any]]:
            data = self.posts[:limit]
            if not data:
                return 200, {"meta": {"result_count": 0}}
            meta = {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
            return 200, {"data": data, "meta": meta}

        return self._run("lookup", do)


# ---- mentions (SOP step 6: what XCollector reads) ------------------------------------------------

MENTIONS_URL = f"{TW}/users/{USER_ID}/mentions"
_TWITTER_EPOCH_MS = 1288834974657


def snowflake(at: datetime | None = None, sequence: int = 0) -> str:
    """A post id as X makes it: the creation time (ms since X's epoch) in the high bits."""
    ms = int((at or datetime.now(UTC)).timestamp() * 1000) - _TWITTER_EPOCH_MS
    return str((ms << 22) | (sequence & 0xFFF))


def mention(
    tweet_id: str,
    text: str,
    author: dict[str, str],
    created_at: str,
    *,
    replied_to: str | None = None,
    conversation_id: str | None = None,
) -> dict[str, Any]:
    """A post by ``author`` naming the account, as the mentions read returns it (``TWEET_FIELDS``)."""
    t: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "author_id": author["id"],
        "created_at": created_at,
        "conversation_id": conversation_id or replied_to or tweet_id,
        "edit_history_tweet_ids": [tweet_id],
    }
    if replied_to:
        t["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
        t["in_reply_to_user_id"] = USER_ID
    return t


def mentions_page(
    spec: XSpec, tweets: list[dict[str, Any]], users: list[dict[str, str]], next_token: str | None = None
) -> dict[str, Any]:
    """A mentions answer (one page) as X sends it; checked against the spec's response schema."""
    meta: dict[str, Any] = {"result_count": len(tweets)}
    body: dict[str, Any] = {"meta": meta}
    if tweets:
        ids = sorted((t["id"] for t in tweets), key=int)
        meta |= {"newest_id": ids[-1], "oldest_id": ids[0]}
        body |= {"data": tweets, "includes": {"users": users}}
    if next_token:
        meta["next_token"] = next_token
    problems = spec._errors(body, "/components/schemas/Get2UsersIdMentionsResponse")
    assert not problems, problems
    return body
