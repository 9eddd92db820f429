"""Instagram's private API as instagrapi 3.2 calls it, faked with ``responses``.

Endpoints (hosts and paths exactly as instagrapi builds them):

- login (current Android "CAA" flow, ``Client.login``): the password encryption key
  ``GET https://i.instagram.com/api/v1/qe/sync/`` (response headers), then on ``b.i.instagram.com``:
  ``POST /graphql_www`` (USDID key registration, first login of a device only),
  ``POST /api/v1/bloks/async_action/com.bloks.www.bloks.caa.login.process_client_data_and_redirect/``
  (gives the ``aac`` context), ``POST /api/v1/attestation/create_android_keystore/`` (nonce),
  ``POST /api/v1/bloks/async_action/com.bloks.www.caa.login.oauth.token.fetch.async/``,
  ``POST /api/v1/bloks/async_action/com.bloks.www.bloks.caa.login.async.send_login_request/``
  (the password; the session comes back inside the Bloks action) — then the post-login flow on
  ``i.instagram.com``: ``POST /api/v1/feed/reels_tray/`` and ``POST /api/v1/feed/timeline/``;
- the account's feed: ``GET https://i.instagram.com/api/v1/feed/user/<id>/``;
- photo: ``POST https://i.instagram.com/rupload_igphoto/<name>`` then ``POST /api/v1/media/configure/``;
- album: one rupload per item (``is_sidecar``) then ``POST /api/v1/media/configure_sidecar/``;
- reel: ``POST https://i.instagram.com/upload_settings/<session>``, ``GET`` + ``POST
  https://i.instagram.com/rupload_igvideo/<name>``, the cover via ``rupload_igphoto``, then
  ``POST /api/v1/media/configure_to_clips/?video=1``.

A "login attempt" is one POST of the password (``send_login_request``).

The ``ig`` fixture (offered to ``tests/sop_tasks/channels`` by its ``conftest.py``) is
:func:`instagram_mock`; the ``store`` fixture (:func:`stored_session_store`, imported by the
modules that use it) holds a logged-in session; :func:`prepared_content` is what is published and
:func:`auth_session` the session a request carried. The office's published photo
(:data:`MEDIA_PK`, :data:`CODE`, its :data:`CAPTION`) is answered by :func:`media_info` and
edited at :data:`EDIT_URL`. Comments and DMs (SOP steps 6 and 9): :func:`comment`,
:func:`comments_page`, :func:`no_direct_messages`, the URLs :func:`comments_url` /
:func:`comment_url`; :func:`live_connection` drives the real hooks.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
import struct
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from instagrapi import Client

from sop_tasks.channels.instagram import InstagramPublisher, MemorySessionStore, SessionStore
from sop_tasks.content import PreparedContent, inspect_media
from tests.support.faults import FaultQueue, Killed

API = "https://i.instagram.com/api/v1"
CAA = "https://b.i.instagram.com/api/v1"
BLOKS = f"{CAA}/bloks/async_action"
USDID_URL = "https://b.i.instagram.com/graphql_www"
PROCESS_CLIENT_DATA_URL = f"{BLOKS}/com.bloks.www.bloks.caa.login.process_client_data_and_redirect/"
KEYSTORE_URL = f"{CAA}/attestation/create_android_keystore/"
OAUTH_FETCH_URL = f"{BLOKS}/com.bloks.www.caa.login.oauth.token.fetch.async/"
LOGIN_URL = f"{BLOKS}/com.bloks.www.bloks.caa.login.async.send_login_request/"
PASSWORD_KEY_URL = f"{API}/qe/sync/"  # GET: the RSA key the password is encrypted with
REELS_TRAY_URL = f"{API}/feed/reels_tray/"
TIMELINE_URL = f"{API}/feed/timeline/"
CONFIGURE_URL = f"{API}/media/configure/"
CONFIGURE_SIDECAR_URL = f"{API}/media/configure_sidecar/"
CONFIGURE_CLIPS_URL = re.compile(re.escape(f"{API}/media/configure_to_clips/") + r"(\?.*)?$")
RUPLOAD_PHOTO_URL = re.compile(r"https://i\.instagram\.com/rupload_igphoto/[^/?]+$")
RUPLOAD_VIDEO_URL = re.compile(r"https://i\.instagram\.com/rupload_igvideo/[^/?]+$")
UPLOAD_SETTINGS_URL = re.compile(r"https://i\.instagram\.com/upload_settings/[^/?]+$")

USER_ID = "51234567890"
USERNAME = "dinarpus.kendal"
PASSWORD = "rahasia-kantor-123"
OLD_SESSION = f"{USER_ID}%3AoldSession0000000000%3A12%3AAYd-old"
NEW_SESSION = f"{USER_ID}%3AnewSession1111111111%3A12%3AAYd-new"

# The office's published photo, and a corrected caption for it (SOP step 10).
MEDIA_PK = 3456789012345678901
MEDIA_ID = f"{MEDIA_PK}_{USER_ID}"
CODE = "C0dEpHoTo1"
CAPTION = "Pameran Arsip Kendal 2026 dibuka hari ini.\n\nDatang ke Dinarpus! #Kendal #Arsip"
NEW_CAPTION = "[Ralat] Pameran Arsip Kendal 2026 dibuka besok.\n\nDatang ke Dinarpus! #Kendal"
INFO_URL = f"{API}/media/{MEDIA_PK}/info/"
EDIT_URL = f"{API}/media/{MEDIA_ID}/edit_media/"


def feed_url(user_id: str = USER_ID) -> str:
    return f"{API}/feed/user/{user_id}/"


def fast_client() -> Client:
    """What tests pass as ``client_factory``: the ``requests`` transport (seen by ``responses``),
    no pause before requests, no HTTP-level retries."""
    return Client(private_transport="requests", request_timeout=0, delay_range=None, session_retry_total=0)


def publisher(store: SessionStore, username: str = USERNAME, password: str = PASSWORD) -> InstagramPublisher:
    """The office's ``InstagramPublisher`` on :func:`fast_client` (no pauses of its own either)."""
    return InstagramPublisher(username, password, store, client_factory=fast_client, delay_range=(0, 0))


@contextmanager
def instagram_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[InstagramFake]:
    """Instagram faked with ``responses`` (unfired answers allowed), instagrapi's sleeps recorded
    in ``fake.slept`` instead of slept. The body of the ``ig`` fixture."""
    slept = disable_instagrapi_sleeps(monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = InstagramFake(rsps)
        fake.slept = slept
        yield fake


@pytest.fixture
def ig(monkeypatch: pytest.MonkeyPatch) -> Iterator[InstagramFake]:
    """Instagram faked at the HTTP edge (:func:`instagram_mock`)."""
    with instagram_mock(monkeypatch) as fake:
        yield fake


@pytest.fixture(name="store")
def stored_session_store() -> MemorySessionStore:
    """The ``store`` fixture: a session store holding the office's logged-in session
    (:func:`session_settings`, :data:`OLD_SESSION`). A module uses it by importing this function."""
    return MemorySessionStore(session_settings())


def prepared_content(*files: Path, caption: str = CAPTION) -> PreparedContent:
    """Content for Instagram only: ``caption`` and the media ``files`` (each must pass
    ``inspect_media``)."""
    media = []
    for f in files:
        mf, problems = inspect_media(f, f.name)
        assert mf is not None, problems
        media.append(mf)
    return PreparedContent(
        title="Pameran Arsip",
        body="Isi berita.",
        channels=("instagram",),
        caption_instagram=caption,
        text_twitter="",
        media=tuple(media),
    )


def auth_session(call: Any) -> str:
    """The sessionid a request was authorised with (from its Bearer IGT:2 header)."""
    header = call.request.headers.get("Authorization", "")
    assert header.startswith("Bearer IGT:2:"), header[:20]
    data: dict[str, str] = json.loads(base64.b64decode(header.rsplit(":", 1)[1]))
    return data["sessionid"]


SECRETS = (OLD_SESSION, NEW_SESSION, PASSWORD, "IGT:2:", "AAC-TEST-CONTEXT")


def assert_no_secrets(*texts: str) -> None:
    """No password, session id, authorization header or login context in any of ``texts``."""
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def authorization(user_id: str, sessionid: str) -> str:
    """The ``IG-Set-Authorization`` value Instagram hands out at login (Bearer IGT:2:<base64 json>)."""
    data = json.dumps({"ds_user_id": user_id, "sessionid": sessionid, "should_use_header_over_cookies": True})
    return "Bearer IGT:2:" + base64.b64encode(data.encode()).decode()


def session_settings(user_id: str = USER_ID, sessionid: str = OLD_SESSION) -> dict[str, Any]:
    """instagrapi settings of a logged-in client (what ``get_settings()`` gives after a login)."""
    client = fast_client()
    client.authorization_data = {
        "ds_user_id": user_id,
        "sessionid": sessionid,
        "should_use_header_over_cookies": True,
    }
    settings: dict[str, Any] = client.get_settings()
    return settings


def login_success_body(user_id: str = USER_ID, sessionid: str = NEW_SESSION) -> dict[str, Any]:
    """``send_login_request`` answer: the login response is a JSON string inside the Bloks action."""
    logged_in_user = {"pk": int(user_id), "pk_id": user_id, "username": USERNAME, "full_name": "Dinarpus"}
    embedded = {
        "login_response": json.dumps({"logged_in_user": logged_in_user, "status": "ok"}),
        "headers": json.dumps({"IG-Set-Authorization": authorization(user_id, sessionid)}),
        "cookies": "",
    }
    action = "(bk.action.caa.HandleLoginResponse, " + json.dumps(json.dumps(embedded)) + ")"
    return {"layout": {"bloks_payload": {"action": action, "data": []}}, "status": "ok"}


def challenge_body() -> dict[str, Any]:
    return {
        "message": "challenge_required",
        "challenge": {
            "url": f"https://i.instagram.com/challenge/{USER_ID}/AbCdEf/",
            "api_path": f"/challenge/{USER_ID}/AbCdEf/",
            "hide_webview_header": True,
            "lock": True,
            "logout": False,
            "native_flow": True,
        },
        "status": "fail",
        "error_type": "checkpoint_challenge_required",
    }


@functools.cache
def _password_public_key() -> str:
    from Cryptodome.PublicKey import RSA

    pem = RSA.generate(2048).public_key().export_key(format="PEM")
    return base64.b64encode(pem).decode()


def media_item(
    pk: int,
    code: str,
    caption: str,
    *,
    media_type: int = 1,
    user_id: str = USER_ID,
    children: int = 0,
    product_type: str = "feed",
) -> dict[str, Any]:
    """A v1 media item (feed/user, configure answers), with the fields instagrapi's Media needs."""
    image = {
        "candidates": [
            {"url": f"https://scontent.cdninstagram.com/{code}.jpg", "width": 1080, "height": 1080}
        ]
    }
    item: dict[str, Any] = {
        "pk": pk,
        "id": f"{pk}_{user_id}",
        "code": code,
        "taken_at": int(time.time()),
        "media_type": media_type,
        "product_type": product_type,
        "image_versions2": image,
        "user": {"pk": user_id, "username": USERNAME, "full_name": "Dinarpus Kendal"},
        "caption": {"text": caption, "pk": str(pk + 1)},
        "like_count": 0,
        "comment_count": 0,
    }
    if media_type == 2:
        item["video_versions"] = [
            {"url": f"https://scontent.cdninstagram.com/{code}.mp4", "width": 720, "height": 1280}
        ]
        item["video_duration"] = 3.0
    if children:
        item["carousel_media"] = [
            {
                "pk": str(pk * 10 + i),
                "id": f"{pk * 10 + i}_{user_id}",
                "media_type": 1,
                "image_versions2": image,
            }
            for i in range(children)
        ]
    return item


def media_info(ig: InstagramFake, caption: str = CAPTION) -> None:
    """``GET media/<pk>/info/`` of the office's photo (:data:`MEDIA_PK`) with ``caption``."""
    ig.rsps.add(
        responses.GET,
        INFO_URL,
        json={"items": [media_item(MEDIA_PK, CODE, caption)], "num_results": 1, "status": "ok"},
    )


class InstagramFake:
    """Registers Instagram's answers on a ``responses.RequestsMock`` and counts what was asked."""

    def __init__(self, rsps: responses.RequestsMock, user_id: str = USER_ID) -> None:
        self.rsps = rsps
        self.user_id = user_id
        self.slept: list[float] = []  # instagrapi's sleeps, when disable_instagrapi_sleeps() recorded them

    # ---- login

    def login_preflight(self) -> None:
        self.rsps.add(
            responses.GET,
            PASSWORD_KEY_URL,
            json={"status": "ok"},
            headers={
                "ig-set-password-encryption-key-id": "41",
                "ig-set-password-encryption-pub-key": _password_public_key(),
            },
        )
        self.rsps.add(responses.POST, USDID_URL, json={"data": {"usdid_registration": {"success": True}}})
        aac = {"data": {"key": "CAA_ACCOUNT_ACCESS_CONTEXT:aac", "initial": "AAC-TEST-CONTEXT"}}
        self.rsps.add(
            responses.POST,
            PROCESS_CLIENT_DATA_URL,
            json={"layout": {"bloks_payload": {"data": [aac], "action": ""}}, "status": "ok"},
        )
        self.rsps.add(
            responses.POST,
            KEYSTORE_URL,
            json={"challenge_nonce": "Tk9OQ0U", "key_nonce": "S0VZ", "status": "ok"},
        )
        self.rsps.add(responses.POST, OAUTH_FETCH_URL, json={"status": "ok"})

    def login_ok(self, sessionid: str = NEW_SESSION) -> None:
        self.login_preflight()
        self.rsps.add(responses.POST, LOGIN_URL, json=login_success_body(self.user_id, sessionid))
        self.rsps.add(responses.POST, REELS_TRAY_URL, json={"tray": [], "status": "ok"})
        self.rsps.add(responses.POST, TIMELINE_URL, json={"feed_items": [], "num_results": 0, "status": "ok"})

    def login_fails(self, status: int, body: dict[str, Any]) -> None:
        self.login_preflight()
        self.rsps.add(responses.POST, LOGIN_URL, status=status, json=body)

    # ---- reads

    def recent(
        self, items: list[dict[str, Any]] | None = None, *, status: int = 200, body: Any = None
    ) -> None:
        payload = (
            body
            if body is not None
            else {"items": items or [], "num_results": len(items or []), "status": "ok"}
        )
        self.rsps.add(responses.GET, feed_url(self.user_id), status=status, json=payload)

    def login_required(self, method: str, url: str | re.Pattern[str]) -> None:
        """A 403 ``login_required`` answer (the session was logged out) on ``url``."""
        body = {
            "message": "login_required",
            "error_title": "You've Been Logged Out",
            "error_body": "Please log back in.",
            "logout_reason": 8,
            "status": "fail",
        }
        self.rsps.add(method, url, status=403, json=body)

    # ---- uploads

    def photo_rupload(self, times: int = 1) -> None:
        for _ in range(times):
            self.rsps.add(
                responses.POST,
                RUPLOAD_PHOTO_URL,
                json={"upload_id": "1", "xsharing_nonces": {}, "status": "ok"},
            )

    def photo_uploaded(self) -> None:
        """What comes before a photo's configure: the session check (an empty feed), one upload."""
        self.recent([])
        self.photo_rupload()

    def photo_published(self, pk: int = MEDIA_PK, code: str = CODE, caption: str = CAPTION) -> None:
        """A photo published whole (:meth:`photo_uploaded`, then the configure answering ``pk``)."""
        self.photo_uploaded()
        self.configure_photo(media_item(pk, code, caption))

    def configure_photo(self, media: dict[str, Any]) -> None:
        self.rsps.add(responses.POST, CONFIGURE_URL, json={"media": media, "upload_id": "1", "status": "ok"})

    def configure_album(self, media: dict[str, Any]) -> None:
        self.rsps.add(
            responses.POST,
            CONFIGURE_SIDECAR_URL,
            json={"media": media, "client_sidecar_id": "1", "status": "ok"},
        )

    def video_rupload(self) -> None:
        self.rsps.add(responses.POST, UPLOAD_SETTINGS_URL, json={"status": "ok"})
        self.rsps.add(responses.GET, RUPLOAD_VIDEO_URL, json={"offset": 0, "status": "ok"})
        self.rsps.add(responses.POST, RUPLOAD_VIDEO_URL, json={"status": "ok"})

    def configure_clip(self, media: dict[str, Any]) -> None:
        self.rsps.add(responses.POST, CONFIGURE_CLIPS_URL, json={"media": media, "status": "ok"})

    # ---- what was asked

    def calls(self, method: str, url: str | re.Pattern[str]) -> list[Any]:
        def hit(u: str | None) -> bool:
            u = u or ""
            base = u.split("?", 1)[0]
            return bool(url.match(u)) if isinstance(url, re.Pattern) else base == url

        return [c for c in self.rsps.calls if c.request.method == method and hit(c.request.url)]

    @property
    def login_attempts(self) -> int:
        return len(self.calls("POST", LOGIN_URL))

    def form(self, call: Any) -> dict[str, Any]:
        """The JSON inside a signed form body (``signed_body=SIGNATURE.{json}``)."""
        return signed_form(call.request.body)


class InstagramAccount:
    """The office's Instagram account, faked *statefully* on a ``responses`` mock.

    A photo configure (``POST media/configure/``) really adds a post that the account's feed
    (``GET feed/user/<id>/``) then lists, newest first, with its caption and a shortcode derived
    from its pk as Instagram does. ``fail(op, kind)`` queues a fault
    (:data:`tests.support.faults.FAULTS`) for the next request of ``op``: ``"upload"`` (the photo
    rupload), ``"create"`` (the configure), ``"lookup"`` (a feed read). ``log`` lists the operations
    asked, in order (a feed read as ``"lookup:<count>"``); ``creates`` counts configure requests
    received, whatever happened to them.
    """

    def __init__(self, rsps: responses.RequestsMock, user_id: str = USER_ID) -> None:
        self.rsps = rsps
        self.user_id = user_id
        self.posts: list[dict[str, Any]] = []  # newest first
        self.log: list[str] = []
        self.creates = 0
        self._faults = FaultQueue(("upload", "create", "lookup"))
        self._pks = itertools.count(3100000000000000101)
        rsps.add_callback(responses.GET, feed_url(user_id), callback=self._feed)
        rsps.add_callback(responses.POST, RUPLOAD_PHOTO_URL, callback=self._rupload)
        rsps.add_callback(responses.POST, CONFIGURE_URL, callback=self._configure)

    def fail(self, op: str, kind: str) -> None:
        self._faults.add(op, kind)

    @staticmethod
    def post_url(code: str) -> str:
        return f"https://www.instagram.com/p/{code}/"

    def _run(self, op: str, do: Callable[[], dict[str, Any]]) -> tuple[int, dict[str, str], str]:
        kind = self._faults.take(op)
        if kind == "killed":
            raise Killed(f"{op}: killed while sending")
        if kind == "5xx":
            return 500, {}, json.dumps({"message": "Internal server error", "status": "fail"})
        answer = do()
        if kind == "lost":
            raise requests.exceptions.ReadTimeout(f"{op}: read timed out (the answer was lost)")
        if kind == "killed_after":
            raise Killed(f"{op}: killed before the answer was read")
        if kind == "5xx_after":
            return 500, {}, json.dumps({"message": "Internal server error", "status": "fail"})
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def _feed(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        count = int(parse_qs(urlsplit(str(request.url)).query).get("count", ["12"])[0])
        self.log.append(f"lookup:{count}")

        def do() -> dict[str, Any]:
            items = self.posts[:count]
            return {"items": items, "num_results": len(items), "more_available": False, "status": "ok"}

        return self._run("lookup", do)

    def _rupload(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.log.append("upload")
        upload_id = json.loads(request.headers["X-Instagram-Rupload-Params"])["upload_id"]
        return self._run("upload", lambda: {"upload_id": upload_id, "xsharing_nonces": {}, "status": "ok"})

    def _configure(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        from instagrapi.utils.ids import InstagramIdCodec

        self.log.append("create")
        self.creates += 1
        form = signed_form(request.body)

        def do() -> dict[str, Any]:
            pk = next(self._pks)
            item = media_item(pk, InstagramIdCodec.encode(pk), str(form.get("caption", "")))
            self.posts.insert(0, item)
            return {"media": item, "upload_id": form.get("upload_id"), "status": "ok"}

        return self._run("create", do)


def signed_form(body: Any) -> dict[str, Any]:
    """The JSON inside a signed form body (``signed_body=SIGNATURE.{json}``)."""
    text = body.decode() if isinstance(body, bytes) else str(body)
    signed = parse_qs(text)["signed_body"][0]
    data: dict[str, Any] = json.loads(signed.split(".", 1)[1])
    return data


def disable_instagrapi_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """instagrapi sleeps in fixed places (3 s before a photo configure, 10 s before a reel's):
    give its modules a ``time`` whose ``sleep`` only records. Returns the recorded durations."""
    slept: list[float] = []
    fake_time = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if not n.startswith("__")})
    fake_time.sleep = slept.append
    for name, module in list(sys.modules.items()):
        if name.startswith("instagrapi") and getattr(module, "time", None) is time:
            monkeypatch.setattr(module, "time", fake_time)
    return slept


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def make_reel_mp4(path: Path, size: tuple[int, int] = (720, 1280), seconds: int = 6) -> Path:
    """An MP4 *header* only: the boxes instagrapi's parser reads (ftyp, moov: mvhd, trak: tkhd,
    mdia/hdlr) and no decodable frame — size and duration are readable, the video is not.
    A real, playable video: :func:`tests.support.video.make_video_mp4`."""
    width, height = size
    mvhd = bytes(4) + struct.pack(">IIII", 0, 0, 1000, seconds * 1000) + bytes(80)
    tkhd = bytearray(84)
    struct.pack_into(">II", tkhd, 76, width << 16, height << 16)
    hdlr = bytes(4) + bytes(4) + b"vide" + bytes(12) + b"VideoHandler\0"
    mdhd = bytes(4) + struct.pack(">IIII", 0, 0, 1000, seconds * 1000) + bytes(4)
    trak = _box(b"tkhd", bytes(tkhd)) + _box(b"mdia", _box(b"mdhd", mdhd) + _box(b"hdlr", hdlr))
    moov = _box(b"mvhd", mvhd) + _box(b"trak", trak)
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ftyp + _box(b"moov", moov) + _box(b"mdat", bytes(4096)))
    return path


# ---------------------------------------------------------------------- comments and DMs (steps 6, 9)

INBOX_URL = f"{API}/direct_v2/inbox/"
PENDING_INBOX_URL = f"{API}/direct_v2/pending_inbox/"


def comments_url(media_id: str | int = MEDIA_ID) -> str:
    """``GET``: a post's comments (the inbox sweep, ``find_reply``); ``media_id`` a full media id,
    or the pk (an ``int``) of one of the account's posts."""
    if isinstance(media_id, int):
        media_id = f"{media_id}_{USER_ID}"
    return f"{API}/media/{media_id}/comments/"


def comment_url(media_id: str = MEDIA_ID) -> str:
    """``POST``: a new comment on a post (a reply names ``replied_to_comment_id`` in its form)."""
    return f"{API}/media/{media_id}/comment/"


def comment(
    pk: str | int,
    text: str,
    user: dict[str, Any],
    created: int,
    *,
    parent: str | int | None = None,
    replied_to: str | None = None,
    replies: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A v1 comment as Instagram sends it (comment lists and a new comment's answer): top-level
    with its ``replies`` as previews, or a reply in the thread of ``parent`` (by default the
    comment it is ``replied_to``)."""
    if parent is None:
        parent = replied_to
    item: dict[str, Any] = {
        "pk": str(pk),
        "user_id": user["pk"],
        "type": 2 if parent else 0,
        "text": text,
        "created_at": created,
        "created_at_utc": created,
        "content_type": "comment",
        "status": "Active",
        "bit_flags": 0,
        "user": {**user, "pk_id": str(user["pk"]), "is_private": False, "is_verified": False},
    }
    if parent:
        item["parent_comment_id"] = str(parent)
        if replied_to:
            item["replied_to_comment_id"] = replied_to
    else:
        item |= {"child_comment_count": len(replies), "preview_child_comments": list(replies)}
    return item


def comments_page(*comments: dict[str, Any], next_max_id: str | None = None) -> dict[str, Any]:
    """One page of ``GET media/{id}/comments/`` (newest first); older ones behind ``next_max_id``."""
    body: dict[str, Any] = {
        "comments": list(comments),
        "comment_count": len(comments),
        "has_more_comments": bool(next_max_id),
        "has_more_headload_comments": False,
        "status": "ok",
    }
    if next_max_id:
        body["next_max_id"] = next_max_id
    return body


def no_direct_messages(ig: InstagramFake) -> None:
    """An empty DM inbox and no message requests (what the sweep reads after the comments)."""
    for url in (INBOX_URL, PENDING_INBOX_URL):
        ig.rsps.add(
            responses.GET,
            url,
            json={"inbox": {"threads": [], "has_older": False}, "seq_id": 1, "status": "ok"},
        )


def live_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sop_instagram`` defined as an admin would (``AIRFLOW_CONN_SOP_INSTAGRAM``), a stored
    session in the Variable ``sop_instagram_session_secret`` (``AIRFLOW_VAR_…``), and the hook's client on
    the ``requests`` transport (seen by ``responses``) with no pauses — so the real hooks, inside a
    task, reach Instagram only through the mock. Undone by ``monkeypatch``."""
    disable_instagrapi_sleeps(monkeypatch)
    monkeypatch.setattr(InstagramPublisher, "_default_client", lambda self: fast_client())
    monkeypatch.setenv(
        "AIRFLOW_CONN_SOP_INSTAGRAM",
        json.dumps({"conn_type": "instagram_sop", "login": USERNAME, "password": PASSWORD}),
    )
    monkeypatch.setenv("AIRFLOW_VAR_SOP_INSTAGRAM_SESSION_SECRET", json.dumps(session_settings()))
