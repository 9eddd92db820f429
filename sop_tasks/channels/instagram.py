"""Instagram, live: instagrapi (Instagram's private mobile API) with a persisted session.

Government accounts get locked by repeated logins, so the session is the thing to protect:

- the settings instagrapi needs (device identity, cookies, authorization) come from a
  :class:`SessionStore` (an encrypted Airflow Variable on the Airflow side) and are used as they
  are — no login when they are valid;
- a login (username/password) happens only when there is no stored session, or when Instagram
  answers ``login_required``; then exactly once per publisher, and the new settings are saved
  before the action is retried once;
- a challenge, 2FA or ``feedback_required`` stops everything with an Indonesian message saying
  what a person must do in the Instagram app; instagrapi's own challenge resolver (which would
  ask for codes on stdin and log in again) is switched off;
- the settings are never logged, never put in a message or a result.

Every instagrapi exception is translated here into :mod:`sop_tasks.errors`; none escapes.

Replies (SOP step 9) and updates (SOP step 10) go through the same session discipline:

- a comment is answered under the same post (``POST media/{media_id}/comment/`` with
  ``replied_to_comment_id``) after one read of the post (``GET media/{pk}/info/``: its full id,
  its link, and whether it still exists); a direct message is answered in its thread
  (``POST direct_v2/threads/broadcast/text/``, or ``…/link/`` when the text holds a URL);
- :meth:`InstagramApi.find_reply` reads the post's comments (``GET media/{id}/comments/``)
  or the thread (``GET direct_v2/threads/{id}/``) once, for the account's own reply with the same
  text;
- an update edits the caption in place (``POST media/{id}/edit_media/``) after reading the post;
  the same caption twice is one edit.

A deleted comment, post or thread is a :class:`RejectedContentError`: retrying cannot help.
"""

from __future__ import annotations

import json
import logging
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import requests

from sop_tasks.channels.base import (
    PublishResult,
    ReplyTarget,
    build_payload,
    payload_hash,
    reply_payload_hash,
)
from sop_tasks.channels.instagram_media import CHANNEL, album_video_covers, prepare_videos, stage
from sop_tasks.content import IG_MAX_ITEMS, PreparedContent
from sop_tasks.errors import (
    ActionRequiredError,
    ChannelError,
    CredentialsError,
    RateLimitedError,
    RejectedContentError,
    TransientChannelError,
)
from sop_tasks.render import plain_line

if TYPE_CHECKING:  # instagrapi costs ~0.35 s to import; DAG parsing must not pay for it
    from instagrapi import Client

log = logging.getLogger(__name__)
# instagrapi logs whole response bodies at DEBUG (a login response carries the session token):
# its client logs through this logger, which never emits DEBUG whatever the root level is.
_IG_LOG = logging.getLogger(f"{__name__}.instagrapi")
_IG_LOG.setLevel(logging.INFO)

CONN_ID = "sop_instagram"
RECENT_AMOUNT = 20
WAIT_AFTER_PLEASE_WAIT = timedelta(minutes=10)
WAIT_AFTER_THROTTLE = timedelta(minutes=10)
ACCOUNT_KEY = "sop_account"  # which account a stored session belongs to (added to the settings)
_FINGERPRINT_KEYS = ("authorization_data", "cookies", "mid", "uuids")
# Transport/timing settings come from the client factory, never from a stored session.
_TRANSPORT_KEYS = (
    "request_timeout",
    "public_request_retries_count",
    "public_request_retries_timeout",
    "session_retry_total",
    "session_retry_backoff_factor",
    "session_retry_statuses",
    "public_transport",
    "public_transport_impersonate",
    "private_transport",
    "tls_verify",
)
_COMMENT_PARAMS = {"can_support_threading": "true", "permalink_enabled": "false"}
THREAD_MESSAGES = 20  # how many of a DM thread's latest messages find_reply reads
# What Instagram says when the comment/post/thread answered is gone (error messages, lower case).
_GONE_WORDS = ("deleted", "not found", "unavailable", "does not exist", "no longer", "invalid media")

T = TypeVar("T")

# Where the session is kept (an Airflow Variable). Airflow masks a Variable in its UI, API and logs
# when the key holds a sensitive word ("secret"); the first name, "sop_instagram_session", did not.
SESSION_VARIABLE = "sop_instagram_session_secret"
LEGACY_SESSION_VARIABLES = ("sop_instagram_session",)

MSG_CHALLENGE = (
    "Instagram meminta verifikasi (challenge): buka aplikasi Instagram di ponsel akun kantor, "
    "setujui 'Ini saya', lalu jalankan ulang tugas. Jangan menjalankan ulang sebelum verifikasi "
    "disetujui: login berulang dapat membuat akun dikunci."
)
MSG_TWO_FACTOR = (
    "Instagram meminta kode verifikasi dua langkah (2FA) untuk login, dan tugas otomatis tidak dapat "
    "mengisi kode: buka aplikasi Instagram di ponsel akun kantor, setujui permintaan login ('Ini saya') "
    "bila muncul, lalu jalankan ulang tugas. Bila tetap diminta kode, Pengelola TI login sekali dengan "
    "kode itu (instagrapi, `Client.login(..., verification_code=...)`) dan menyimpan hasil "
    f"`json.dumps(get_settings())` di Variable '{SESSION_VARIABLE}' (Admin → Variables), lalu "
    "membersihkan (clear) tugas ini."
)
MSG_SUSPENDED = (
    "Instagram menangguhkan atau menonaktifkan akun kantor: buka aplikasi Instagram di ponsel akun "
    "kantor, ikuti langkah banding/pemulihan yang diminta, lalu jalankan ulang tugas."
)
MSG_SESSION_REFUSED = (
    "Instagram menolak sesi yang baru saja dibuat (login_required tepat setelah login): buka aplikasi "
    "Instagram di ponsel akun kantor, periksa pemberitahuan keamanan dan setujui 'Ini saya' bila ada, "
    "lalu jalankan ulang tugas. Tugas tidak login berulang agar akun tidak dikunci."
)


class SessionStore(Protocol):
    """Where the instagrapi settings (the session) live between runs. Secret: never log them."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, settings: dict[str, Any]) -> None: ...


class MemorySessionStore:
    """A :class:`SessionStore` in memory (tests, one-off scripts)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._settings = deepcopy(settings)
        self.saves = 0

    def load(self) -> dict[str, Any] | None:
        return deepcopy(self._settings)

    def save(self, settings: dict[str, Any]) -> None:
        self._settings = deepcopy(settings)
        self.saves += 1

    def __repr__(self) -> str:  # never show the session
        return f"MemorySessionStore(saved={self._settings is not None}, saves={self.saves})"


def normalize_caption(text: str) -> str:
    """Captions compared as Instagram may return them: NFC, whitespace runs as one space."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def post_url(code: str) -> str:
    return f"https://www.instagram.com/p/{code}/"


def direct_url(thread_id: str) -> str:
    return f"https://www.instagram.com/direct/t/{thread_id}/"


def _fingerprint(settings: dict[str, Any] | None) -> str:
    if not settings:
        return ""
    return json.dumps({k: settings.get(k) for k in _FINGERPRINT_KEYS}, sort_keys=True, default=str)


def _no_code(username: str, choice: object = None) -> str:
    """instagrapi's challenge_code_handler: never ask (it would read stdin); "" makes it raise."""
    return ""


def _no_password(username: str) -> str:
    return ""


def _short(text: object, limit: int = 200) -> str:
    return plain_line(str(text or ""), limit)  # platform text shown to staff: one clean line


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None) or getattr(exc, "status_code", None)
    if code is None:
        code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def _detail(exc: BaseException) -> str:
    status = _status(exc)
    return f"{type(exc).__name__}, HTTP {status}" if status else type(exc).__name__


def _ig_message(exc: BaseException) -> str:
    """Instagram's own short text for a refusal (never a response body with session data)."""
    for attr in ("feedback_message", "message", "error_title"):
        value = getattr(exc, attr, None)
        if isinstance(value, str) and value.strip() and not value.lstrip().startswith(("{", "<")):
            return _short(value)
    return ""


class InstagramApi:
    """The office's Instagram account through instagrapi, one login at most: the one client every
    Instagram task uses (publisher, replier, updater, and the collector's reads), returned
    (cached) by ``InstagramHook.get_conn()``.

    Surface (every method raises only :mod:`sop_tasks.errors` channel errors, never instagrapi's):

    - :meth:`whoami` — ``(user id, username)`` of the session (no request when one is stored);
    - :meth:`publish` / :meth:`find_existing` — post, and find the post an earlier attempt made;
    - :meth:`recent_items` — the account's latest posts (raw v1 feed items);
    - :meth:`reply` / :meth:`find_reply` — answer a comment or a DM, and find that answer again;
    - :meth:`update` — edit a post's caption in place;
    - :meth:`call` — run any other read with the session discipline below (the collector's way in).

    Instagram's private API cannot delete a post safely for us, so there is no ``delete``.

    One instance serves one task run: it logs in at most once in its life. ``client_factory``
    builds the bare ``instagrapi.Client`` (transport, timeouts, delays); the default one follows
    instagrapi's advice and pauses ``delay_range`` seconds (random) before every private request.
    A custom factory sets its own delays (``delay_range`` is then not used).
    """

    channel = CHANNEL
    mode = "live"

    def __init__(
        self,
        username: str,
        password: str,
        store: SessionStore,
        *,
        client_factory: Callable[[], Client] | None = None,
        delay_range: tuple[float, float] = (1, 3),
    ) -> None:
        self.username = (username or "").strip()
        self._password = password or ""
        self._store = store
        self._delay_range = delay_range
        self._factory: Callable[[], Client] = client_factory or self._default_client
        self._client: Client | None = None
        self._loaded_fingerprint = ""
        self._logins = 0
        self._verified = False  # the session was checked (or made) by a request of this publisher
        self._stopped: ChannelError | None = None  # a person must act first: no more requests

    def __repr__(self) -> str:  # never show the password or the session
        return f"InstagramApi(username={self.username!r})"

    # ------------------------------------------------------------------ Publisher

    def publish(self, content: PreparedContent, key: str) -> PublishResult:
        """Upload ``content`` as one photo, one album (2–10 items) or one reel (a single video)."""
        digest = payload_hash(build_payload(CHANNEL, content))
        items = list(content.media)
        if not items:
            raise RejectedContentError(
                CHANNEL,
                "Instagram perlu minimal satu gambar atau video; isi 'media' lalu kirim ulang formulir",
            )
        if len(items) > IG_MAX_ITEMS:
            raise RejectedContentError(
                CHANNEL, f"Instagram menerima maksimal {IG_MAX_ITEMS} media per kiriman (ada {len(items)})"
            )
        caption = content.caption_instagram
        with tempfile.TemporaryDirectory(prefix="sop-instagram-") as tmp:
            paths = [stage(m, Path(tmp), i) for i, m in enumerate(items, 1)]
            covers = prepare_videos(items, paths)

            def upload(client: Client) -> Any:
                if not self._verified:  # a stored session: prove it with a read before sending media
                    recent_items(client, 1)
                    self._verified = True
                if len(paths) > 1:
                    with album_video_covers(client, covers):
                        return client.album_upload(paths, caption)
                if items[0].kind == "video":
                    return client.clip_upload(paths[0], caption, thumbnail=covers[paths[0]])
                return client.photo_upload(paths[0], caption)

            media = self.call("mengunggah kiriman", upload, uploading=True)
        result = PublishResult(
            channel=CHANNEL,
            mode="live",
            status="published",
            post_id=str(media.pk),
            url=post_url(str(media.code)),
            payload_hash=digest,
        )
        log.info("Instagram: kiriman tayang %s (key %s)", result.url, key)
        return result

    def find_existing(self, content: PreparedContent, key: str) -> PublishResult | None:
        """The account's recent post with the same caption (whitespace-normalised), if any."""
        wanted = normalize_caption(content.caption_instagram)
        if not wanted:
            return None
        items = self.call("membaca kiriman terbaru", lambda c: recent_items(c, RECENT_AMOUNT))
        for item in items:
            caption = item.get("caption")
            text = caption.get("text", "") if isinstance(caption, dict) else ""
            if normalize_caption(text) == wanted and item.get("pk") and item.get("code"):
                log.info("Instagram: kiriman dengan keterangan yang sama sudah ada (key %s)", key)
                return PublishResult(
                    channel=CHANNEL,
                    mode="live",
                    status="published",
                    post_id=str(item["pk"]),
                    url=post_url(str(item["code"])),
                    payload_hash=payload_hash(build_payload(CHANNEL, content)),
                )
        return None

    # ------------------------------------------------------------------ Replier (SOP step 9)

    def reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult:
        """Answer a comment (under its post) or a direct message (in its thread) with ``text``."""
        if not text.strip():
            raise RejectedContentError(CHANNEL, "Teks balasan kosong; isi balasannya lalu kirim ulang")
        digest = reply_payload_hash(target, text)
        if target.kind == "dm":
            thread_id = _thread_of(target)

            def answer(client: Client) -> str:
                with _refusals(what="pesan langsung (DM) asli"):
                    message = client.direct_answer(int(thread_id), text)
                return str(message.id)

            post_id = self.call("membalas pesan langsung (DM)", answer)
            url = direct_url(thread_id)
        elif target.kind == "comment":
            media_pk, comment_pk = _comment_of(target)

            def comment(client: Client) -> tuple[str, str]:
                with _refusals(what="komentar/unggahan asli"):
                    media = client.media_info_v1(media_pk)  # its full id, its link, still there?
                    self._verified = True
                    made = client.media_comment(media.id, text, replied_to_comment_id=int(comment_pk))
                return str(made.pk), str(media.code)

            post_id, code = self.call("membalas komentar", comment)
            url = post_url(code)
        else:
            raise RejectedContentError(
                CHANNEL,
                f"Pesan jenis '{target.kind}' tidak dapat dibalas di Instagram (hanya komentar dan DM)",
            )
        log.info("Instagram: balasan %s terkirim untuk %s (key %s)", post_id, target.platform_id, key)
        return PublishResult(
            channel=CHANNEL, mode="live", status="published", post_id=post_id, url=url, payload_hash=digest
        )

    def find_reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult | None:
        """The account's reply with ``text`` an earlier attempt made, from ONE read (or ``None``)."""
        wanted = normalize_caption(text)
        if not wanted:
            return None
        found: str | None
        if target.kind == "dm":
            thread_id = _thread_of(target)
            item_id = target.platform_id.rsplit(":", 1)[-1] if target.platform_id.startswith("dm:") else ""

            def read_thread(client: Client) -> str | None:
                with _refusals(what="pesan langsung (DM) asli"):
                    thread = client.private_request(
                        f"direct_v2/threads/{thread_id}/",
                        params={
                            "visual_message_return_type": "unseen",
                            "direction": "older",
                            "limit": str(THREAD_MESSAGES),
                        },
                    )
                return _own_message(thread, str(client.user_id), item_id, wanted)

            found = self.call("membaca pesan langsung (DM)", read_thread)
            url = direct_url(thread_id)
        elif target.kind == "comment":
            media_pk, comment_pk = _comment_of(target)

            def read_comments(client: Client) -> str | None:
                # the full media id; comments are read on the account's own posts (like the inbox)
                media_id = (
                    target.post_ref if "_" in (target.post_ref or "") else f"{media_pk}_{client.user_id}"
                )
                with _refusals(what="komentar/unggahan asli"):
                    page = client.private_request(f"media/{media_id}/comments/", params=dict(_COMMENT_PARAMS))
                return _own_comment_reply(page, str(client.user_id), comment_pk, wanted)

            found = self.call("membaca komentar kiriman", read_comments)
            url = post_url(_code_of(media_pk))
        else:
            return None
        if found is None:
            log.info("Instagram: belum ada balasan untuk %s (key %s)", target.platform_id, key)
            return None
        log.info("Instagram: balasan %s dari percobaan sebelumnya ditemukan (key %s)", found, key)
        return PublishResult(
            channel=CHANNEL,
            mode="live",
            status="published",
            post_id=found,
            url=url,
            payload_hash=reply_payload_hash(target, text),
        )

    # ------------------------------------------------------------------ Updater (SOP step 10)

    def update(
        self, post_id: str, content: PreparedContent, key: str, *, look_first: bool = True
    ) -> PublishResult:
        """Edit the caption of post ``post_id`` in place (media cannot be changed on Instagram).

        Reads the post first (its link, and whether it still exists); a caption that is already
        the new one is not sent again, so a retry is harmless.
        """
        caption = content.caption_instagram
        if not caption.strip():
            raise RejectedContentError(
                CHANNEL,
                "'caption_instagram' kosong: keterangan kiriman tidak dikosongkan; isi lalu kirim ulang",
            )
        media_pk = post_id.split("_", 1)[0]

        def edit(client: Client) -> str:
            with _refusals(what="unggahan asli"):
                media = client.media_info_v1(media_pk)
                self._verified = True
                if normalize_caption(media.caption_text) == normalize_caption(caption):
                    log.info(
                        "Instagram: keterangan %s sudah sesuai; tidak diubah lagi (key %s)", media_pk, key
                    )
                else:
                    cache = getattr(client, "_medias_cache", None)
                    if isinstance(cache, dict):  # media_edit reads the post again unless cached
                        cache[str(media.pk)] = media
                    client.media_edit(media.id, caption)
            return str(media.code)

        code = self.call("mengubah keterangan kiriman", edit)
        log.info("Instagram: keterangan kiriman %s diperbarui (key %s)", media_pk, key)
        return PublishResult(
            channel=CHANNEL,
            mode="live",
            status="published",
            post_id=post_id,
            url=post_url(code),
            payload_hash=payload_hash(build_payload(CHANNEL, content)),
        )

    # ------------------------------------------------------------------ account

    def whoami(self) -> tuple[str, str]:
        """``(user id, username)`` of the session: the stored one as it is, else one login."""
        user_id = self.call("membaca profil akun", lambda c: str(c.user_id))
        return user_id, self.username

    def recent_items(self, amount: int = RECENT_AMOUNT) -> list[dict[str, Any]]:
        """The account's ``amount`` latest posts as raw v1 feed items (newest first)."""
        return self.call("membaca kiriman terbaru", lambda c: recent_items(c, amount))

    def test_connection(self) -> tuple[bool, str]:
        """(ok, message) for Airflow's connection test: reads the account's feed with the session."""
        try:
            self.call("memeriksa koneksi", lambda c: recent_items(c, 1))
        except ChannelError as exc:
            return False, str(exc)
        return True, f"Terhubung ke Instagram sebagai {self.username}"

    # ------------------------------------------------------------------ session

    def _default_client(self) -> Client:
        from instagrapi import Client

        # instagrapi's advice: a random, human-like pause before every private request.
        return Client(delay_range=list(self._delay_range))

    def _new_client(self) -> Client:
        client = self._factory()
        client.logger = _IG_LOG
        client.with_challenge_flow = False  # no automatic resolver: it reads stdin and logs in again
        client.challenge_code_handler = _no_code
        client.change_password_handler = _no_password
        return client

    def _ready_client(self) -> Client:
        """The client with the stored session, or freshly logged in when there is none."""
        if self._client is not None:
            return self._client
        client = self._new_client()
        stored = self._load()
        if stored:
            try:
                client.set_settings({k: v for k, v in stored.items() if k not in _TRANSPORT_KEYS})
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.warning(
                    "Instagram: sesi tersimpan tidak dapat dipakai (%s); login baru", type(exc).__name__
                )
                client = self._new_client()
        if client.user_id:
            log.info("Instagram: memakai sesi tersimpan untuk %s (tanpa login)", self.username)
        else:
            log.info("Instagram: belum ada sesi tersimpan untuk %s; login sekali", self.username)
            self._login(client, relogin=False)
        self._client = client
        return client

    def _load(self) -> dict[str, Any] | None:
        try:
            stored = self._store.load()
        except Exception as exc:  # unknown whether a session exists: never log in blindly
            raise TransientChannelError(
                CHANNEL,
                f"Penyimpanan sesi Instagram tidak dapat dibaca ({type(exc).__name__}); akan dicoba lagi. "
                f"Bila terus gagal, Pengelola TI dapat menghapus Variable '{SESSION_VARIABLE}' "
                "(Admin → Variables) agar tugas login sekali dan menyimpan sesinya ulang.",
            ) from None
        if not isinstance(stored, dict) or not stored:
            return None
        account = stored.get(ACCOUNT_KEY)
        if account and str(account).strip().lower() != self.username.lower():
            log.warning(
                "Instagram: sesi tersimpan milik akun lain; diabaikan, login sebagai %s", self.username
            )
            return None
        self._loaded_fingerprint = _fingerprint(stored)
        return stored

    def _login(self, client: Client, *, relogin: bool) -> None:
        """Log in once per publisher: needing a second login is a person's job, never a loop."""
        from instagrapi import exceptions as ig

        if self._logins:
            if not relogin:  # an earlier login of this publisher failed transiently: not again now
                raise TransientChannelError(
                    CHANNEL, "Login Instagram sudah dicoba sekali oleh tugas ini; akan dicoba lagi nanti."
                )
            raise ActionRequiredError(CHANNEL, MSG_SESSION_REFUSED)
        if not self.username or not self._password:
            raise CredentialsError(
                CHANNEL,
                f"Koneksi Airflow '{CONN_ID}' belum berisi nama pengguna (login) dan kata sandi (password) "
                "akun Instagram kantor: isi di Admin → Connections, lalu jalankan ulang tugas.",
            )
        self._logins += 1
        log.info("Instagram: login sebagai %s%s", self.username, " (sesi kedaluwarsa)" if relogin else "")
        try:
            client.login(self.username, self._password, relogin=relogin)
        except ig.LoginRequired:
            raise ActionRequiredError(CHANNEL, MSG_SESSION_REFUSED) from None
        except Exception as exc:
            raise self._translate(exc, "login", login=True) from None
        finally:
            # A failed login still leaves a device identity worth keeping: after a challenge the
            # person approves *this* device, so the next run must present the same one.
            self._save_if_changed(client)
        self._verified = True

    def _save_if_changed(self, client: Client) -> None:
        settings = client.get_settings()
        fingerprint = _fingerprint(settings)
        if fingerprint == self._loaded_fingerprint:
            return
        settings[ACCOUNT_KEY] = self.username
        try:
            self._store.save(settings)
        except Exception as exc:  # the post matters more than the cache; the next run logs in
            log.error(
                "Instagram: sesi tidak dapat disimpan (%s); run berikutnya login lagi", type(exc).__name__
            )
            return
        self._loaded_fingerprint = fingerprint
        log.info("Instagram: sesi disimpan untuk %s", self.username)

    def call(self, what: str, action: Callable[[Client], T], *, uploading: bool = False) -> T:
        """Run ``action`` with a ready session; on ``login_required`` log in once and retry once.

        ``what`` (Indonesian, "membaca …") names the action in error messages. Every exception
        ``action`` raises becomes a channel error; after one a person must act on (challenge,
        credentials), this client makes no further request.
        """
        from instagrapi import exceptions as ig

        if self._stopped is not None:
            raise self._stopped
        try:
            client = self._ready_client()
            try:
                try:
                    return action(client)
                except ig.LoginRequired:
                    log.warning("Instagram: sesi ditolak (login_required) saat %s", what)
                    self._login(client, relogin=True)
                    return action(client)
            finally:
                self._save_if_changed(client)
        except ChannelError as err:
            self._stop_if_permanent(err)
            raise
        except Exception as exc:
            translated = self._translate(exc, what, uploading=uploading)
            self._stop_if_permanent(translated)
            raise translated from None

    def _stop_if_permanent(self, err: ChannelError) -> None:
        if isinstance(err, ActionRequiredError | CredentialsError):
            self._stopped = err

    # ------------------------------------------------------------------ errors

    def _translate(
        self, exc: BaseException, what: str, *, login: bool = False, uploading: bool = False
    ) -> ChannelError:
        """One instagrapi/requests exception → the channel error a person can act on."""
        from instagrapi import exceptions as ig

        now = datetime.now(UTC)
        status = _status(exc)
        detail = _detail(exc)
        said = _ig_message(exc)
        text = str(getattr(exc, "message", "") or "")

        if isinstance(exc, ig.ChallengeError | ig.CaptchaChallengeRequired):
            return ActionRequiredError(CHANNEL, MSG_CHALLENGE)
        if isinstance(exc, ig.AccountSuspended):
            return ActionRequiredError(CHANNEL, MSG_SUSPENDED)
        if isinstance(exc, ig.TwoFactorRequired):
            return ActionRequiredError(CHANNEL, MSG_TWO_FACTOR)
        if isinstance(exc, ig.FeedbackRequired | ig.SentryBlock):
            return ActionRequiredError(
                CHANNEL,
                f"Instagram membatasi tindakan akun kantor saat {what}{f' ({said})' if said else ''}: "
                "buka aplikasi Instagram di ponsel akun kantor, baca pemberitahuannya dan konfirmasi bila "
                "diminta, lalu tunggu beberapa jam (sebaiknya 24 jam) sebelum menjalankan ulang tugas; "
                "percobaan berulang memperpanjang pembatasan.",
            )
        if isinstance(exc, ig.BadPassword | ig.BadCredentials | ig.ProxyAddressIsBlocked):
            return CredentialsError(
                CHANNEL,
                f"Instagram menolak login akun '{self.username}' (nama pengguna atau kata sandi salah, atau "
                f"Instagram menolak perangkat/IP server). Periksa login dan kata sandi pada koneksi Airflow "
                f"'{CONN_ID}' (Admin → Connections); bila sudah benar, buka aplikasi Instagram di ponsel "
                "akun kantor dan periksa pemberitahuan upaya login. Lalu jalankan ulang tugas.",
            )
        if isinstance(exc, ig.PleaseWaitFewMinutes):
            return RateLimitedError(
                CHANNEL,
                f'Instagram meminta menunggu beberapa menit saat {what} ("Please wait a few minutes"); '
                "tugas dicoba lagi setelah sekitar 10 menit.",
                reset_at=now + WAIT_AFTER_PLEASE_WAIT,
            )
        if isinstance(exc, ig.RateLimitError | ig.ClientThrottledError) or status == 429:
            return RateLimitedError(
                CHANNEL,
                f"Instagram membatasi jumlah permintaan saat {what} ({detail}); "
                "tugas dicoba lagi setelah sekitar 10 menit.",
                reset_at=now + WAIT_AFTER_THROTTLE,
            )
        if isinstance(exc, ig.LoginRequired | ig.ClientLoginRequired | ig.ReloginAttemptExceeded):
            return ActionRequiredError(CHANNEL, MSG_SESSION_REFUSED)
        if isinstance(exc, ig.ClientNeedsUpgradeError):
            return ActionRequiredError(
                CHANNEL,
                "Instagram meminta versi aplikasi yang lebih baru (needs_upgrade): Pengelola TI perlu "
                "memperbarui pustaka instagrapi, lalu jalankan ulang tugas.",
            )
        if isinstance(
            exc,
            ig.ClientConnectionError
            | ig.ClientRequestTimeout
            | ig.ClientIncompleteReadError
            | ig.ClientJSONDecodeError
            | requests.RequestException,
        ) or (status is not None and status >= 500):
            return TransientChannelError(
                CHANNEL,
                f"Instagram tidak dapat dihubungi atau sedang bermasalah saat {what} ({detail}); "
                "akan dicoba lagi.",
            )
        if "configure succeeded" in text or "Transcode not finished" in text:
            # Instagram may have made the post: the retry first looks for it (find_existing).
            return TransientChannelError(
                CHANNEL,
                f"Instagram menerima unggahan tetapi belum memastikan kirimannya ({detail}); tugas dicoba "
                "lagi dan lebih dulu memeriksa apakah kiriman sudah tayang.",
            )
        if login:  # an unexplained refusal to log in: never retried, repeated logins lock accounts
            return CredentialsError(
                CHANNEL,
                f"Instagram tidak membuka sesi untuk akun '{self.username}' ({detail}"
                f"{f': {said}' if said else ''}). Periksa kata sandi pada koneksi Airflow '{CONN_ID}'; bila "
                "benar, buka aplikasi Instagram di ponsel akun kantor dan setujui 'Ini saya' bila ada "
                "permintaan, lalu jalankan ulang tugas.",
            )
        if uploading and isinstance(
            exc,
            ig.PhotoNotUpload
            | ig.VideoNotUpload
            | ig.ClipNotUpload
            | ig.IGTVNotUpload
            | ig.AlbumConfigureError
            | ig.AlbumUnknownFormat
            | ig.VideoTooLongException
            | ig.UnknownError
            | ig.ClientBadRequestError,
        ):
            return RejectedContentError(
                CHANNEL,
                f"Instagram menolak kiriman ({detail}{f': {said}' if said else ''}). Periksa media "
                "(format, ukuran, durasi video) dan 'caption_instagram', perbaiki, lalu kirim ulang "
                "formulir.",
            )
        return TransientChannelError(
            CHANNEL, f"Instagram memberi jawaban tak terduga saat {what} ({detail}); akan dicoba lagi."
        )


InstagramPublisher = InstagramApi
"""The name the publishing code knew first: the same class."""


# ---------------------------------------------------------------------- helpers


def recent_items(client: Client, amount: int) -> list[dict[str, Any]]:
    """The account's own latest posts as raw v1 feed items.

    Called directly (not ``user_medias``) because instagrapi's feed helpers swallow network errors
    and return an empty list — which would make ``find_existing`` answer "not posted" wrongly.
    """
    result = client.private_request(
        f"feed/user/{client.user_id}/",
        params={
            "max_id": "",
            "count": amount,
            "min_timestamp": None,
            "rank_token": client.rank_token,
            "ranked_content": "true",
        },
    )
    items = result.get("items") if isinstance(result, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


@contextmanager
def _refusals(*, what: str) -> Iterator[None]:
    """Inside an action: Instagram's "that is gone" / "refused" answers become
    :class:`RejectedContentError` (permanent); everything else goes on to ``call``'s translation."""
    from instagrapi import exceptions as ig

    try:
        yield
    except (
        ig.LoginRequired,
        ig.ChallengeError,
        ig.FeedbackRequired,
        ig.SentryBlock,
        ig.PleaseWaitFewMinutes,
        ig.RateLimitError,
        ig.ClientThrottledError,
        ig.ClientNeedsUpgradeError,
        ig.ClientConnectionError,
        ig.ClientRequestTimeout,
    ):
        raise  # the session, the account or the network: call's translation knows these
    except (
        ig.MediaNotFound,
        ig.MediaUnavailable,
        ig.InvalidMediaId,
        ig.CommentNotFound,
        ig.CommentUnavailable,
        ig.DirectThreadNotFound,
        ig.DirectMessageNotFound,
        ig.ClientNotFoundError,
    ) as exc:
        raise RejectedContentError(CHANNEL, _gone_message(what, exc)) from None
    except (ig.CommentsDisabled, ig.DirectMessageRequestsDisabled) as exc:
        raise RejectedContentError(
            CHANNEL,
            f"Instagram tidak mengizinkan balasan ke {what} ({_detail(exc)}: komentar dinonaktifkan atau "
            "pengirim tidak menerima pesan). Balasan tidak dikirim dan tidak perlu dicoba lagi.",
        ) from None
    except ig.ClientError as exc:
        status = _status(exc)
        if status is not None and status >= 500:
            raise
        said = _ig_message(exc)
        if any(word in said.lower() for word in _GONE_WORDS):
            raise RejectedContentError(CHANNEL, _gone_message(what, exc)) from None
        if isinstance(exc, ig.UnknownError | ig.ClientBadRequestError) or (
            type(exc) is ig.ClientError and status in (None, 200, 400)
        ):
            raise RejectedContentError(
                CHANNEL,
                f"Instagram menolak permintaan ({_detail(exc)}{f': {said}' if said else ''}). Periksa teks "
                "balasan atau 'caption_instagram' sesuai pesan Instagram, perbaiki, lalu kirim ulang.",
            ) from None
        raise


def _gone_message(what: str, exc: BaseException) -> str:
    return (
        f"Instagram: {what} sudah dihapus atau tidak tersedia lagi ({_detail(exc)}). Balasan atau "
        "perubahan tidak dikirim dan tidak perlu dicoba lagi; bila masih perlu, hubungi warga lewat "
        "kanal lain dan catat di tindak lanjut."
    )


def _thread_of(target: ReplyTarget) -> str:
    """The DM thread id: ``target.thread_id`` or the middle of ``dm:<thread>:<item>``."""
    thread_id = target.thread_id or ""
    if not thread_id and target.platform_id.startswith("dm:"):
        thread_id = target.platform_id.split(":")[1]
    if not thread_id.isdigit():
        raise RejectedContentError(CHANNEL, f"Pesan {target.platform_id!r} tidak menyebut utas DM-nya")
    return thread_id


def _comment_of(target: ReplyTarget) -> tuple[str, str]:
    """(media pk, comment pk) of a comment target."""
    media_pk = (target.post_ref or "").split("_", 1)[0]
    if not media_pk.isdigit() or not target.platform_id.isdigit():
        raise RejectedContentError(
            CHANNEL, f"Komentar {target.platform_id!r} tidak menyebut kiriman Instagram tempatnya"
        )
    return media_pk, target.platform_id


def _code_of(media_pk: str) -> str:
    """A post's shortcode, computed from its pk (no request)."""
    from instagrapi.utils.ids import InstagramIdCodec

    return str(InstagramIdCodec.encode(int(media_pk)))


def _author_id(comment: dict[str, Any]) -> str:
    user = comment.get("user")
    if not isinstance(user, dict):
        user = {}
    return str(comment.get("user_id") or user.get("pk") or user.get("pk_id") or "")


def _own_comment_reply(page: Any, own: str, target: str, wanted: str) -> str | None:
    """In a ``media/{id}/comments/`` answer: the account's comment with text ``wanted`` that
    answers comment ``target`` (replies come in ``preview_child_comments``)."""
    top = page.get("comments") if isinstance(page, dict) else None
    if not isinstance(top, list):
        raise ValueError("comments: unexpected shape")
    children: dict[str, list[dict[str, Any]]] = {}
    parent_of: dict[str, str] = {}
    for comment in top:
        if not isinstance(comment, dict) or not comment.get("pk"):
            continue
        kids = [c for c in comment.get("preview_child_comments") or [] if isinstance(c, dict) and c.get("pk")]
        children[str(comment["pk"])] = kids
        for kid in kids:
            parent_of[str(kid["pk"])] = str(comment["pk"])
    candidates: list[tuple[dict[str, Any], str | None]] = [
        (c, parent) for parent, kids in children.items() for c in kids
    ] + [(c, None) for c in top if isinstance(c, dict)]
    target_parent = parent_of.get(target)  # the target may itself be a reply in a thread
    for comment, listed_under in candidates:
        if _author_id(comment) != own or normalize_caption(str(comment.get("text") or "")) != wanted:
            continue
        replied_to = str(comment.get("replied_to_comment_id") or "")
        parent = str(comment.get("parent_comment_id") or listed_under or "")
        if replied_to == target or (not replied_to and parent == target):
            return str(comment["pk"])
        if not replied_to and target_parent and parent == target_parent:  # Instagram threads one level
            return str(comment["pk"])
    return None


def _own_message(result: Any, own: str, target_item: str, wanted: str) -> str | None:
    """In a ``direct_v2/threads/{id}/`` answer (newest first): the account's message with text
    ``wanted`` sent after the message ``target_item``."""
    thread = result.get("thread") if isinstance(result, dict) else None
    items = thread.get("items") if isinstance(thread, dict) else None
    if not isinstance(items, list):
        raise ValueError("thread: unexpected shape")
    for item in items:
        if not isinstance(item, dict):
            continue
        if target_item and str(item.get("item_id")) == target_item:
            return None  # older messages do not answer the target
        link = item.get("link")
        text = item.get("text")
        if text is None and isinstance(link, dict):
            text = link.get("text")
        if str(item.get("user_id")) == own and normalize_caption(str(text or "")) == wanted:
            return str(item.get("item_id"))
    return None
