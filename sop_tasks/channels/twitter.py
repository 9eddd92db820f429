"""X (Twitter): live publishing with OAuth 1.0a user context.

Posts go through tweepy 4.17 (``Client.create_tweet``). tweepy has no media upload for API v2 and
X retired the v1.1 upload, so media is uploaded here with ``requests`` + ``requests_oauthlib``
against the X API v2 media endpoints (``https://api.x.com``, see ``shared/specs``):

- image: ``POST /2/media/upload`` (multipart: ``media``, ``media_category=tweet_image``,
  ``media_type``), one shot;
- video: ``POST /2/media/upload/initialize`` (JSON), ``POST /2/media/upload/{id}/append``
  (multipart: ``media`` chunk, ``segment_index``), ``POST /2/media/upload/{id}/finalize``, then
  ``GET /2/media/upload?command=STATUS&media_id=…`` until processing has finished, honouring
  ``processing_info.check_after_secs`` and bounded by ``max_processing_wait``.

Every tweepy/requests exception is translated here, at the edge, into a
:mod:`sop_tasks.errors` channel error with an Indonesian message saying what to do. Credentials
never appear in logs, messages or results.

X has no idempotency key for posts: after an ambiguous failure (a timeout after X may have
accepted the post) :meth:`XApi.find_existing` reads the account's recent posts once and
matches the text (URLs are replaced by t.co links on X, so they are compared without URLs).

Replies (SOP step 9) are posts with ``reply.in_reply_to_tweet_id``; :meth:`XApi.find_reply`
reads the account's posts newer than the message answered (``since_id``, replies included) and
matches a post that replies to it with the same text. Updates (SOP step 10): X cannot edit a post
through the API, so :meth:`XApi.update` either answers the original with a correction reply
(``mode="reply"``, the original stays) or deletes it (``DELETE /2/tweets/{id}``) and posts the new
version (``mode="repost"``). Both look for their own earlier result first, so a retry never posts
twice.
"""

from __future__ import annotations

import html
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import requests
import tweepy
from requests_oauthlib import OAuth1

from sop_tasks.channels.base import (
    MIME as _MIME,
)
from sop_tasks.channels.base import (
    PublishResult,
    ReplyTarget,
    build_payload,
    payload_hash,
    reply_payload_hash,
)
from sop_tasks.content import MediaFile, PreparedContent, staged_problem
from sop_tasks.errors import (
    ChannelError,
    CredentialsError,
    RateLimitedError,
    RejectedContentError,
    TransientChannelError,
)

log = logging.getLogger(__name__)

CHANNEL = "twitter"
CONN_ID = "sop_twitter"
API_BASE = "https://api.x.com"  # the server of X API v2's OpenAPI spec (media endpoints)
POST_URL = "https://x.com/{username}/status/{id}"
HTTP_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds for every call to X
CHUNK_SIZE = 4 * 1024 * 1024  # APPEND segment size for videos
MAX_SEGMENTS = 1000  # segment_index is 0…999 in the spec
MAX_IMAGES = 4
RECENT_POSTS = 20  # how many recent posts find_existing reads (X charges per post read)
RECENT_REPLIES = 50  # find_reply / update: posts newer than the original (replies included)
RATE_LIMIT_FALLBACK = timedelta(minutes=15)
_PENDING_STATES = ("pending", "in_progress")

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"(?<![\w@.])(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE)
_LEADING_MENTIONS = re.compile(r"^(?:@\w{1,15}\s*)+")
_TWEET_ID = re.compile(r"^[0-9]{1,19}$")
# What X says when the post being answered is gone or closed to replies (403/400 bodies).
_CANNOT_REPLY = re.compile(
    r"deleted|not visible|not found|could not find|does not exist|unavailable|no longer|"
    r"reply to this conversation is not allowed|cannot reply|can't reply",
    re.IGNORECASE,
)

_FIX_CREDENTIALS = (
    f"Periksa koneksi {CONN_ID} (Admin → Connections): API key/secret dan access token/secret "
    "harus dari aplikasi X yang sama, belum dicabut, dan aplikasinya berizin 'Read and Write' "
    "(buat ulang access token/secret setelah mengubah izin)."
)
_RETRY_LATER = "Airflow akan mencoba lagi otomatis; bila terus gagal, cek status X dan jaringan server."
_CANNOT_REPLY_MSG = (
    "pesan asli sudah dihapus atau tidak dapat dibalas (akun pengirim dikunci/dihapus atau balasan "
    "dibatasi). Balasan tidak dikirim dan tidak perlu dicoba lagi; bila masih perlu, hubungi warga "
    "lewat kanal lain dan catat di tindak lanjut."
)
_MAYBE_POSTED = (
    " Postingan mungkin sudah diterima X: sebelum mengulang, sistem memeriksa postingan terbaru "
    "akun agar tidak terbit dua kali — jangan memposting ulang secara manual."
)


@dataclass(frozen=True)
class XCredentials:
    """OAuth 1.0a user-context keys of the office's X account (from the sop_twitter connection)."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)

    def __repr__(self) -> str:  # never show the keys
        return "XCredentials(<tersembunyi>)"


def normalise_text(text: str) -> str:
    """Post text as comparable on both sides: no URLs (X turns them into t.co links), NFC,
    HTML entities decoded (X's API returns ``&amp;``), whitespace collapsed."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _BARE_DOMAIN.sub(" ", _URL.sub(" ", text))
    return " ".join(text.split())


def normalise_reply_text(text: str) -> str:
    """:func:`normalise_text` without the leading @mentions X adds to a reply's text."""
    return _LEADING_MENTIONS.sub("", normalise_text(text)).strip()


def _quiet_oauth_debug_logs() -> None:
    """oauthlib/requests_oauthlib log the signed Authorization header (API key, access token) at
    DEBUG; keep those two loggers at INFO or above so no credential reaches a task log."""
    for name in ("oauthlib", "requests_oauthlib"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


class _TimeoutSession:
    """The part of a session tweepy's Client uses (``request``), with our timeout on every call.

    tweepy calls ``session.request`` without a timeout; a post that hangs would never end.
    """

    def __init__(self, session: requests.Session, timeout: tuple[float, float]) -> None:
        self._session = session
        self._timeout = timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.request(method, url, **kwargs)


class XApi:
    """The office's X account: the one client every X task uses (publisher, replier, updater and
    the collector's reads), returned (cached) by ``XHook.get_conn()``.

    Surface (every method raises only :mod:`sop_tasks.errors` channel errors, never tweepy's):

    - :meth:`whoami` — ``(user id, username)``, read once and cached;
    - :meth:`publish` / :meth:`find_existing` — post, and find the post an earlier attempt made;
    - :meth:`mentions` — one page of recent mentions of and replies to the account (raw X JSON);
    - :meth:`reply` / :meth:`find_reply` — answer a post, and find that answer again;
    - :meth:`update` — correction reply or delete-and-repost (X cannot edit through the API);
    - :meth:`delete` — delete one of the account's posts (already gone is fine);
    - :meth:`edge` / :meth:`scrub` — the error translation and credential scrubbing, for callers
      that read X through this client.
    """

    channel = CHANNEL
    mode = "live"
    chunk_size = CHUNK_SIZE

    def __init__(
        self,
        creds: XCredentials,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_processing_wait: float = 60.0,
        update_mode: Literal["reply", "repost"] = "reply",
    ) -> None:
        _quiet_oauth_debug_logs()
        self._creds = creds
        self.update_mode = update_mode  # config follow_up.x_update
        self._session = session or requests.Session()
        self._sleep = sleep
        self.max_processing_wait = max_processing_wait
        self._auth = OAuth1(
            creds.api_key,
            client_secret=creds.api_secret,
            resource_owner_key=creds.access_token,
            resource_owner_secret=creds.access_token_secret,
        )
        self._client = tweepy.Client(
            consumer_key=creds.api_key,
            consumer_secret=creds.api_secret,
            access_token=creds.access_token,
            access_token_secret=creds.access_token_secret,
            return_type=dict,
        )
        self._client.session = _TimeoutSession(self._session, HTTP_TIMEOUT)
        self._me: tuple[str, str] | None = None  # (user id, username), cached

    # ---- publisher API --------------------------------------------------------------------
    def publish(self, content: PreparedContent, key: str) -> PublishResult:
        """Upload the media, then create the post; raises only channel errors."""
        return self._post(content, key)

    def find_existing(self, content: PreparedContent, key: str) -> PublishResult | None:
        """The post an earlier attempt made, from ONE read of the account's recent posts."""
        _, username = self.whoami()
        post_id = self._find_post(content.text_twitter, key)
        if post_id is None:
            return None
        return self._result(post_id, username, payload_hash(build_payload(CHANNEL, content)))

    # ---- recent items (SOP step 6) ----------------------------------------------------------
    def mentions(
        self,
        *,
        since_id: int | None,
        pagination_token: str | None,
        max_results: int,
        tweet_fields: list[str],
    ) -> Any:
        """ONE page of ``GET /2/users/{id}/mentions`` as X returns it (authors expanded).

        tweepy's and requests' exceptions are NOT translated here: the caller reads inside
        :meth:`edge` (or its own translation around it), which knows what the read was for.
        """
        user_id, _ = self.whoami()
        return self._client.get_users_mentions(
            user_id,
            since_id=since_id,
            pagination_token=pagination_token,
            max_results=max_results,
            tweet_fields=tweet_fields,
            expansions=["author_id"],
            user_fields=["username"],
            user_auth=True,
        )

    # ---- replies (SOP step 9) ---------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult:
        """Answer the post ``target.platform_id`` with ``text``; raises only channel errors.

        A deleted or unavailable original (or one closed to replies) is a
        :class:`RejectedContentError`: retrying cannot help.
        """
        _require_text(text, "teks balasan")  # before any request
        _, username = self.whoami()
        post_id = self._post_reply(target.platform_id, text, key, field="teks balasan")
        return self._result(post_id, username, reply_payload_hash(target, text))

    def find_reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult | None:
        """The reply an earlier attempt made: ONE read of the account's posts newer than the target."""
        _, username = self.whoami()
        post_id = self._find_reply_to(target.platform_id, text, key)
        if post_id is None:
            return None
        return self._result(post_id, username, reply_payload_hash(target, text))

    # ---- updates (SOP step 10) --------------------------------------------------------------
    def update(
        self,
        post_id: str,
        content: PreparedContent,
        key: str,
        *,
        mode: Literal["reply", "repost"] | None = None,
        look_first: bool = True,
    ) -> PublishResult:
        """Publish the updated ``content`` of post ``post_id`` (X has no edit through the API).

        ``mode`` defaults to the publisher's ``update_mode`` (config ``follow_up.x_update``):

        - ``mode="reply"``: a correction reply to the original with ``content.text_twitter``; the
          result is the correction post, the original stays;
        - ``mode="repost"``: the original is deleted and ``content`` posted anew, media included.

        With ``look_first`` (an earlier attempt may have reached X) that attempt's result is
        looked for first (one read), so retrying after an ambiguous failure never posts twice;
        a first attempt skips the read, which X bills.
        """
        mode = mode or self.update_mode
        digest = payload_hash(build_payload(CHANNEL, content))
        if mode == "reply":
            _require_text(content.text_twitter, "'text_twitter'")  # before any request
            _, username = self.whoami()
            found = self._find_reply_to(post_id, content.text_twitter, key) if look_first else None
            if found is None:
                found = self._post_reply(post_id, content.text_twitter, key, field="'text_twitter'")
            return self._result(found, username, digest)
        if mode == "repost":
            self._check_media(content.media)  # before any request, and before the original goes
            _, username = self.whoami()
            existing = self._find_post(content.text_twitter, key, newer_than=post_id) if look_first else None
            if existing is not None:
                return self._result(existing, username, digest)
            return self._post(content, key, replacing=post_id)
        raise ValueError(f"unknown update mode {mode!r}")

    def test_connection(self) -> tuple[bool, str]:
        """(ok, message) for the connection's *Test* button; never raises."""
        self._me = None
        try:
            _, username = self.whoami()
        except ChannelError as exc:
            return False, str(exc)
        return True, f"Terhubung ke X sebagai @{username}"

    # ---- helpers ------------------------------------------------------------------------
    def _result(self, post_id: str, username: str, digest: str) -> PublishResult:
        return PublishResult(
            channel=CHANNEL,
            mode="live",
            status="published",
            post_id=post_id,
            url=POST_URL.format(username=username, id=post_id),
            payload_hash=digest,
        )

    def _post(self, content: PreparedContent, key: str, *, replacing: str | None = None) -> PublishResult:
        """Upload the media, delete ``replacing`` (if given) only then, and create the post."""
        digest = payload_hash(build_payload(CHANNEL, content))
        self._check_media(content.media)
        _, username = self.whoami()  # first: bad credentials fail before a long upload
        media_ids = [self._upload(m) for m in content.media]
        if replacing is not None:  # media are up: a local or upload problem never costs the original
            self.delete(replacing, key)
        log.info("X: mengirim postingan (kunci %s, %d media)", key, len(media_ids))
        try:
            with self.edge("mengirim postingan", ambiguous=True):
                response = self._client.create_tweet(
                    text=content.text_twitter or None, media_ids=media_ids or None, user_auth=True
                )
                post_id = str(response["data"]["id"])
        except (RejectedContentError, CredentialsError) as exc:
            if replacing is None:
                raise
            # The original is already gone: say so, so nobody thinks the old post still stands.
            detail = str(exc).removeprefix(f"[{CHANNEL}] ")
            todo = (
                "perbaiki koneksi sop_twitter lalu bersihkan (clear) tugas ini"
                if isinstance(exc, CredentialsError)
                else "ajukan pemutakhiran baru (sop_update) dengan isi yang diperbaiki"
            )
            raise type(exc)(
                CHANNEL,
                f"{detail} — PERHATIAN: postingan lama {replacing} sudah dihapus dan versi baru belum "
                f"terbit; {todo}",
            ) from None
        log.info("X: postingan %s terbit (kunci %s)", post_id, key)
        return self._result(post_id, username, digest)

    def _post_reply(self, in_reply_to: str, text: str, key: str, *, field: str) -> str:
        """Create a reply to ``in_reply_to``; returns the new post's id."""
        _require_text(text, field)
        log.info("X: mengirim balasan untuk %s (kunci %s)", in_reply_to, key)
        with self.edge("mengirim balasan", ambiguous=True, replying=True, field=field):
            response = self._client.create_tweet(text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True)
            post_id = str(response["data"]["id"])
        log.info("X: balasan %s untuk %s terkirim (kunci %s)", post_id, in_reply_to, key)
        return post_id

    def delete(self, post_id: str, key: str) -> None:
        """Delete the account's post ``post_id``; one that is already gone is fine."""
        log.info("X: menghapus postingan lama %s sebelum memposting versi baru (kunci %s)", post_id, key)
        with self.edge("menghapus postingan lama"):
            try:
                response = self._client.delete_tweet(post_id, user_auth=True)
            except tweepy.errors.NotFound:
                log.info("X: postingan lama %s sudah tidak ada (kunci %s)", post_id, key)
                return
            if not (response.get("data") or {}).get("deleted"):
                log.warning("X: postingan lama %s tidak dihapus X (sudah terhapus?) (kunci %s)", post_id, key)

    def _find_post(self, text: str, key: str, *, newer_than: str | None = None) -> str | None:
        """ONE read of the account's recent posts (no replies): the newest with ``text``."""
        user_id, _ = self.whoami()
        params: dict[str, Any] = {"max_results": RECENT_POSTS, "exclude": ["replies", "retweets"]}
        if newer_than is not None and _TWEET_ID.match(newer_than):
            params["since_id"] = newer_than
        with self.edge("membaca postingan terbaru akun"):
            response = self._client.get_users_tweets(user_id, user_auth=True, **params)
            posts = [(str(p["id"]), str(p.get("text", ""))) for p in response.get("data") or []]
        wanted = normalise_text(text)
        for post_id, post_text in posts:  # newest first
            if post_id != newer_than and normalise_text(post_text) == wanted:
                log.info("X: postingan %s dari percobaan sebelumnya ditemukan (kunci %s)", post_id, key)
                return post_id
        log.info("X: tidak ada postingan yang cocok di %d postingan terbaru (kunci %s)", len(posts), key)
        return None

    def _find_reply_to(self, in_reply_to: str, text: str, key: str) -> str | None:
        """ONE read of the account's posts newer than ``in_reply_to`` (replies included): the
        account's reply to it with ``text`` (X's leading @mentions aside), if any."""
        user_id, _ = self.whoami()
        params: dict[str, Any] = {"max_results": RECENT_REPLIES, "exclude": ["retweets"]}
        if _TWEET_ID.match(in_reply_to):
            params["since_id"] = in_reply_to  # a reply is always newer than what it answers
        with self.edge("membaca balasan terbaru akun"):
            response = self._client.get_users_tweets(
                user_id, tweet_fields=["referenced_tweets"], user_auth=True, **params
            )
            posts = [
                (str(p["id"]), str(p.get("text", "")), replied_to(p)) for p in response.get("data") or []
            ]
        wanted = normalise_reply_text(text)
        for post_id, post_text, answers in posts:  # newest first
            if answers == in_reply_to and normalise_reply_text(post_text) == wanted:
                log.info("X: balasan %s dari percobaan sebelumnya ditemukan (kunci %s)", post_id, key)
                return post_id
        log.info(
            "X: tidak ada balasan yang cocok untuk %s di %d postingan terbaru (kunci %s)",
            in_reply_to,
            len(posts),
            key,
        )
        return None

    def whoami(self) -> tuple[str, str]:
        if self._me is None:
            with self.edge("membaca profil akun"):
                data = self._client.get_me(user_auth=True)["data"]
                self._me = (str(data["id"]), str(data["username"]))
        return self._me

    def _check_media(self, media: tuple[MediaFile, ...]) -> None:
        videos = [m for m in media if m.kind == "video"]
        if videos and len(media) > 1:
            raise RejectedContentError(
                CHANNEL, "X hanya menerima 1 video tanpa media lain; kurangi media lalu kirim ulang formulir"
            )
        if len(media) > MAX_IMAGES:
            raise RejectedContentError(
                CHANNEL,
                f"X menerima maksimal {MAX_IMAGES} gambar (ada {len(media)}); kurangi lalu kirim ulang",
            )
        for m in media:
            if m.format not in _MIME:
                raise RejectedContentError(
                    CHANNEL, f"Media '{m.name}': format {m.format} tidak didukung X; pakai JPEG, PNG atau MP4"
                )

    # ---- media upload (X API v2) -----------------------------------------------------------
    def _upload(self, m: MediaFile) -> str:
        _verify_file(m)
        mime = _MIME[m.format]
        if m.kind == "video":
            media_id, reply = self._upload_chunked(m, mime)
        else:
            with self._open(m) as fh:
                reply = self._media(
                    "POST",
                    "/2/media/upload",
                    f"mengunggah gambar '{m.name}'",
                    files={"media": (m.name, fh, mime)},
                    data={"media_category": "tweet_image", "media_type": mime},
                )
            media_id = _media_id(reply, m)
        self._await_processing(media_id, reply, m)
        log.info("X: media %s diunggah (media_id %s)", m.name, media_id)
        return media_id

    def _upload_chunked(self, m: MediaFile, mime: str) -> tuple[str, dict[str, Any]]:
        size = Path(m.path).stat().st_size
        if size > self.chunk_size * MAX_SEGMENTS:
            raise RejectedContentError(CHANNEL, f"Video '{m.name}' terlalu besar untuk diunggah ke X")
        action = f"mengunggah video '{m.name}'"
        init = self._media(
            "POST",
            "/2/media/upload/initialize",
            action,
            json={"media_type": mime, "total_bytes": size, "media_category": "tweet_video"},
        )
        media_id = _media_id(init, m)
        with self._open(m) as fh:
            for index, chunk in enumerate(iter(lambda: fh.read(self.chunk_size), b"")):
                self._media(
                    "POST",
                    f"/2/media/upload/{media_id}/append",
                    action,
                    files={"media": (m.name, chunk, "application/octet-stream")},
                    data={"segment_index": str(index)},
                )
        return media_id, self._media("POST", f"/2/media/upload/{media_id}/finalize", action)

    def _await_processing(self, media_id: str, reply: dict[str, Any], m: MediaFile) -> None:
        info = _processing_info(reply)
        waited = 0.0
        while info.get("state") in _PENDING_STATES:
            delay = max(float(info.get("check_after_secs") or 1), 1.0)
            if waited + delay > self.max_processing_wait:
                raise TransientChannelError(
                    CHANNEL,
                    f"X masih memproses media '{m.name}' setelah {waited:.0f} detik. {_RETRY_LATER}",
                )
            self._sleep(delay)
            waited += delay
            status = self._media(
                "GET",
                "/2/media/upload",
                f"memeriksa pemrosesan media '{m.name}'",
                params={"command": "STATUS", "media_id": media_id},
            )
            info = _processing_info(status)
        if info.get("state") == "failed":
            error = info.get("error")
            reason = error.get("message") or error.get("name") if isinstance(error, dict) else None
            raise RejectedContentError(
                CHANNEL,
                f"X gagal memproses media '{m.name}'"
                + (f" ({self.scrub(str(reason))})" if reason else "")
                + "; periksa berkasnya (video: MP4/H.264, maksimal 2 menit 20 detik) "
                "lalu kirim ulang formulir",
            )

    @contextmanager
    def _open(self, m: MediaFile) -> Iterator[Any]:
        try:
            fh = Path(m.path).open("rb")
        except OSError as exc:
            raise RejectedContentError(
                CHANNEL,
                f"Berkas media '{m.name}' tidak dapat dibaca ({exc.strerror}); "
                "pastikan folder staging dapat dibaca worker lalu kirim ulang formulir",
            ) from None
        with fh:
            yield fh

    def _media(self, method: str, path: str, action: str, **kwargs: Any) -> dict[str, Any]:
        """One call to X's v2 media API; returns its JSON (``{}`` when empty)."""
        with self.edge(action):
            response = self._session.request(
                method, API_BASE + path, auth=self._auth, timeout=HTTP_TIMEOUT, **kwargs
            )
            if response.status_code >= 400:
                raise self._from_response(response, action)
            body = response.json() if response.content else {}
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            return body

    # ---- error translation ------------------------------------------------------------------
    @contextmanager
    def edge(
        self, action: str, *, ambiguous: bool = False, replying: bool = False, field: str = "'text_twitter'"
    ) -> Iterator[None]:
        """Turn tweepy/requests failures (and unreadable answers) into channel errors.

        ``replying``: the request answers a post, so "that post is gone / closed" is recognised;
        ``field`` names the text a person must fix when X refuses it.
        """
        maybe = _MAYBE_POSTED if ambiguous else ""
        try:
            yield
        except ChannelError:
            raise
        except tweepy.errors.HTTPException as exc:
            raise self._from_response(
                exc.response, action, ambiguous=ambiguous, replying=replying, field=field
            ) from None
        except requests.JSONDecodeError as exc:  # before RequestException: it is one, too
            raise TransientChannelError(
                CHANNEL,
                f"Jawaban X saat {action} tidak dapat dibaca ({type(exc).__name__}).{maybe} {_RETRY_LATER}",
            ) from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientChannelError(
                CHANNEL, f"X tidak menjawab saat {action} ({type(exc).__name__}).{maybe} {_RETRY_LATER}"
            ) from None
        except requests.RequestException as exc:
            raise TransientChannelError(
                CHANNEL, f"Permintaan ke X gagal saat {action} ({type(exc).__name__}). {_RETRY_LATER}"
            ) from None
        except (tweepy.errors.TweepyException, ValueError, KeyError, TypeError) as exc:
            raise TransientChannelError(
                CHANNEL,
                f"Jawaban X saat {action} tidak dapat dibaca ({type(exc).__name__}).{maybe} {_RETRY_LATER}",
            ) from None

    def _from_response(
        self,
        response: requests.Response,
        action: str,
        *,
        ambiguous: bool = False,
        replying: bool = False,
        field: str = "'text_twitter'",
    ) -> ChannelError:
        status = response.status_code
        said = self.scrub("; ".join(x_messages(response)))[:300]
        detail = f"HTTP {status}" + (f": {said}" if said else "")
        resend = "kirim ulang formulir" if field == "'text_twitter'" else "kirim ulang"
        if status == 401:
            return CredentialsError(
                CHANNEL, f"X menolak kredensial saat {action} ({detail}). {_FIX_CREDENTIALS}"
            )
        if status == 403 and "duplicate" in said.lower():
            return RejectedContentError(
                CHANNEL,
                f"X menolak postingan karena isinya sama dengan postingan akun sebelumnya ({detail}). "
                f"Ubah teks {field} lalu {resend}.",
            )
        if replying and (status == 404 or (status in (400, 403) and _CANNOT_REPLY.search(said))):
            return RejectedContentError(CHANNEL, f"X menolak balasan ({detail}): {_CANNOT_REPLY_MSG}")
        if status == 403:
            return CredentialsError(
                CHANNEL,
                f"X menolak akses saat {action} ({detail}). {_FIX_CREDENTIALS} "
                "Pastikan juga paket API X akun ini mencakup endpoint tersebut.",
            )
        if status == 429:
            reset_at = _reset_at(response)
            return RateLimitedError(
                CHANNEL,
                f"X membatasi jumlah permintaan saat {action} ({detail}). Tunggu sampai "
                f"{reset_at:%Y-%m-%d %H:%M} UTC; Airflow akan mencoba lagi setelahnya.",
                reset_at=reset_at,
            )
        if status >= 500:
            maybe = _MAYBE_POSTED if ambiguous else ""
            return TransientChannelError(
                CHANNEL, f"X sedang bermasalah saat {action} ({detail}).{maybe} {_RETRY_LATER}"
            )
        return RejectedContentError(
            CHANNEL,
            f"X menolak saat {action} ({detail}). Perbaiki teks {field}"
            + ("" if replying else " atau media")
            + f" sesuai pesan X, lalu {resend}.",
        )

    def scrub(self, text: str) -> str:
        """Belt and braces: no credential value ever leaves in a message."""
        for secret in (
            self._creds.api_key,
            self._creds.api_secret,
            self._creds.access_token,
            self._creds.access_token_secret,
        ):
            if secret:
                text = text.replace(secret, "***")
        return text


XPublisher = XApi
"""The name the publishing code knew first: the same class."""


def x_messages(response: requests.Response) -> list[str]:
    """What X said: v2 problems (``title``/``detail``/``errors``) or v1-style ``errors``."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found: list[str] = []
    errors = body.get("errors")
    for err in errors if isinstance(errors, list) else []:
        if isinstance(err, dict):
            text = err.get("message") or err.get("detail") or err.get("title")
            if text:
                found.append(str(text))
        elif isinstance(err, str):
            found.append(err)
    if isinstance(body.get("error"), str):
        found.append(body["error"])
    if not found:
        found += [str(body[k]) for k in ("detail", "title") if body.get(k)]
    return list(dict.fromkeys(found))


def _require_text(text: str, field: str) -> None:
    if not text.strip():
        raise RejectedContentError(CHANNEL, f"{field} kosong; isi teksnya lalu kirim ulang")


def replied_to(post: dict[str, Any]) -> str | None:
    """The id of the post ``post`` replies to (from ``referenced_tweets``), if any."""
    for ref in post.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def _reset_at(response: requests.Response) -> datetime:
    raw = response.headers.get("x-rate-limit-reset", "")
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        return datetime.now(UTC) + RATE_LIMIT_FALLBACK


def _media_id(reply: dict[str, Any], m: MediaFile) -> str:
    media_id = str((reply.get("data") or {}).get("id") or "")
    if not media_id.isdigit():
        raise TransientChannelError(
            CHANNEL, f"X tidak mengembalikan media_id untuk '{m.name}'. {_RETRY_LATER}"
        )
    return media_id


def _processing_info(reply: dict[str, Any]) -> dict[str, Any]:
    data = reply.get("data")
    info = data.get("processing_info") if isinstance(data, dict) else None
    return info if isinstance(info, dict) else {}


def _verify_file(m: MediaFile) -> None:
    problem = staged_problem(m)  # what was approved is what is sent
    if problem:
        raise RejectedContentError(CHANNEL, problem)
