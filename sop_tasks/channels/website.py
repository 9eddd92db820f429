"""The office website: WordPress REST API with an application password.

The API root is discovered from the site (``Link: <…>; rel="https://api.w.org/"`` header, or the
HTML ``<link>`` tag) and cached, so sites without pretty permalinks (``?rest_route=/``) work.
Every post carries a slug derived from the idempotency key, so a retry after an ambiguous failure
finds the post it may already have made instead of posting twice.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import unicodedata
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import requests

from sop_tasks.channels.base import (
    MIME,
    PublishResult,
    ReplyTarget,
    build_payload,
    payload_hash,
    reply_payload_hash,
    website_html,
)
from sop_tasks.content import MediaFile, PreparedContent
from sop_tasks.errors import (
    CredentialsError,
    GoneError,
    RateLimitedError,
    RejectedContentError,
    TransientChannelError,
)
from sop_tasks.incoming import CollectResult, IncomingItem

log = logging.getLogger(__name__)
CHANNEL = "website"
WIB = ZoneInfo("Asia/Jakarta")
API_REL = "https://api.w.org/"
_LINK_TAG = re.compile(r"<link[^>]+rel=[\"']https://api\.w\.org/[\"'][^>]*>", re.I)
_HREF = re.compile(r"href=[\"']([^\"']+)[\"']", re.I)
_POST_STATUSES = "publish,future,draft,pending,private"

_root_cache: dict[str, str] = {}
_root_lock = threading.Lock()


@dataclass(frozen=True)
class WordPressCredentials:
    site_url: str
    username: str
    app_password: str

    def __repr__(self) -> str:  # never show the password
        return f"WordPressCredentials(site_url={self.site_url!r}, username={self.username!r})"


def slug_for(title: str, key: str) -> str:
    """A readable, deterministic slug: the title in ASCII plus the key's digest."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")[:60].rstrip("-")
    digest = key.rsplit("-", 1)[-1]
    return f"{words}-{digest}" if words else f"sop-{digest}"


def discover_root(response: requests.Response) -> str | None:
    """The REST root announced by a WordPress page, from its Link header or HTML."""
    for value in response.headers.get("Link", "").split(","):
        m = re.match(r'\s*<([^>]+)>\s*;\s*rel="?([^";]+)"?', value)
        if m and m.group(2) == API_REL:
            return m.group(1)
    tag = _LINK_TAG.search(
        response.text[:200_000] if "html" in response.headers.get("Content-Type", "") else ""
    )
    if tag:
        href = _HREF.search(tag.group(0))
        if href:
            return urljoin(response.url, html.unescape(href.group(1)))
    return None


class WordPressApi:
    """The office website through the WordPress REST API: the one client every website task uses
    (publisher, replier, updater, and the collector's reads), returned (cached) by
    ``WordPressHook.get_conn()``.

    Surface (every method raises only :mod:`sop_tasks.errors` channel errors):

    - :meth:`whoami` — ``(user id, name)`` of the application password's user, read once;
    - :meth:`publish` / :meth:`find_existing` — post, and find the post an earlier attempt made
      (by the slug derived from the idempotency key);
    - :meth:`recent_comments` — one page of the site's comments, newest first (all statuses);
    - :meth:`reply` / :meth:`find_reply` — answer a comment under its post, and find that answer;
    - :meth:`update` — edit a post in place;
    - :meth:`request` — any other REST call, with the same errors.

    Posts are not deleted by the pipeline (a wrong post is updated), so there is no ``delete``.
    """

    channel = CHANNEL
    mode = "live"

    def __init__(
        self,
        creds: WordPressCredentials,
        *,
        categories: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        conn_id: str = "sop_website",
        session: requests.Session | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.creds = creds
        self.categories = categories
        self.tags = tags
        self.conn_id = conn_id
        self.session = session or requests.Session()
        self.session.auth = (creds.username, creds.app_password)
        self.session.headers.setdefault("User-Agent", "sop-dinarpus/1 (+Airflow)")
        self.timeout = timeout
        # seconds of the latest HTTP calls (the benchmark reads them); bounded for long-lived use
        self.round_trips: deque[float] = deque(maxlen=1000)
        self._whoami: tuple[str, str] | None = None  # (user id, name), read once

    # ---- transport ----------------------------------------------------------------------
    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        started = datetime.now(UTC)
        try:
            r = self.session.request(method, url, timeout=self.timeout, **kw)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientChannelError(
                CHANNEL, f"Situs web tidak menjawab ({type(exc).__name__}); akan dicoba lagi otomatis"
            ) from None
        finally:
            self.round_trips.append((datetime.now(UTC) - started).total_seconds())
        return r

    def api_root(self) -> str:
        site = self.creds.site_url.rstrip("/") + "/"
        with _root_lock:
            if site in _root_cache:
                return _root_cache[site]
        r = self._send("GET", site)
        root = discover_root(r) if r.status_code < 500 else None
        if root is None:
            if r.status_code >= 500:
                raise TransientChannelError(CHANNEL, f"Situs web galat {r.status_code}; akan dicoba lagi")
            raise CredentialsError(
                CHANNEL,
                f"Alamat {site} tidak mengumumkan REST API WordPress; periksa kolom host di koneksi "
                f"{self.conn_id} (alamat situs, mis. https://dinarpus.kendalkab.go.id)",
            )
        with _root_lock:
            _root_cache[site] = root
        return root

    def _url(self, route: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        root = self.api_root()
        parts = urlsplit(root)
        query = dict(parse_qsl(parts.query))
        if "rest_route" in query:  # plain permalinks: index.php?rest_route=/wp/v2/...
            query["rest_route"] = query["rest_route"].rstrip("/") + "/" + route
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            return url, {**query, **(params or {})}
        return root.rstrip("/") + "/" + route, dict(params or {})

    def request(self, method: str, route: str, *, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        url, query = self._url(route, params)
        r = self._send(method, url, params=query, **kw)
        self._raise_for(r)
        try:
            return r.json()
        except ValueError:
            raise CredentialsError(
                CHANNEL,
                f"Jawaban situs untuk {route} bukan JSON WordPress; "
                f"periksa alamat host di koneksi {self.conn_id}",
            ) from None

    def _raise_for(self, r: requests.Response) -> None:
        if r.status_code < 400:
            return
        try:
            body = r.json()
        except ValueError:
            body = {}
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if r.status_code in (401, 403):
            raise CredentialsError(
                CHANNEL,
                f"WordPress menolak akses ({r.status_code} {code}): periksa koneksi {self.conn_id} — "
                "nama pengguna, application password, dan peran pengguna (minimal Author/Editor)",
            )
        if r.status_code == 429:
            retry = r.headers.get("Retry-After", "")
            wait = int(retry) if retry.isdigit() else 300
            raise RateLimitedError(
                CHANNEL,
                f"Situs membatasi permintaan (429); tugas dijadwalkan ulang otomatis {wait} detik lagi",
                datetime.now(UTC) + timedelta(seconds=wait),
            )
        if r.status_code in (404, 410):
            raise GoneError(
                CHANNEL, f"WordPress: yang diminta tidak ada lagi di situs ({r.status_code} {code})"
            )
        if r.status_code >= 500:
            raise TransientChannelError(
                CHANNEL, f"Situs web galat {r.status_code}; akan dicoba lagi otomatis"
            )
        params = body.get("data", {}).get("params", {}) if isinstance(body, dict) else {}
        if code == "rest_invalid_param" and isinstance(params, dict) and params:
            fields = "; ".join(f"{k}: {v}" for k, v in params.items())
            raise RejectedContentError(
                CHANNEL,
                f"WordPress menolak isian — {fields}. Perbaiki isi formulir (judul, isi, media) atau "
                "kategori/tag di config/office.yaml, lalu ajukan lagi",
            )
        raise RejectedContentError(
            CHANNEL,
            f"WordPress menolak permintaan ({r.status_code} {code}): {message}. Perbaiki sesuai pesan "
            "itu lalu ajukan lagi; bila tidak jelas, teruskan pesan ini ke pengelola situs",
        )

    # ---- publisher API --------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        try:
            me = self.request("GET", "wp/v2/users/me", params={"context": "edit"})
        except (CredentialsError, TransientChannelError, RejectedContentError, RateLimitedError) as exc:
            return False, str(exc)
        caps = me.get("capabilities") or {}
        if not caps.get("publish_posts"):
            return (
                False,
                f"Pengguna {me.get('slug')} tidak boleh menerbitkan tulisan; beri peran Author/Editor",
            )
        return True, f"Terhubung ke {self.api_root()} sebagai {me.get('slug')}"

    def find_existing(self, content: PreparedContent, key: str) -> PublishResult | None:
        """The post an earlier attempt made (published, or left as a draft and now published)."""
        posts = self._posts_with_slug(slug_for(content.title, key))
        if not posts:
            return None
        return self._result(content, self._published(posts[0]))

    def publish(self, content: PreparedContent, key: str) -> PublishResult:
        """Create the post as a draft, keep the oldest post carrying our slug, then publish it.

        An attempt that raced an earlier one (WordPress gives the later draft a suffixed slug)
        sees both drafts and keeps one: nothing is public twice, even for a moment.
        """
        slug = slug_for(content.title, key)
        data = {**self._post_data(content, key, slug), "status": "draft", "slug": slug}
        draft = self.request("POST", "wp/v2/posts", json=data)
        keep = (self._posts_with_slug(slug) or [draft])[0]
        post = self._published(keep)
        # Another attempt (a killed task's request still running on the server) may have added a
        # draft meanwhile: converge on the kept post and remove every other copy of our slug.
        for extra in self._posts_with_slug(slug):
            if int(extra["id"]) != int(post["id"]):
                self.request("DELETE", f"wp/v2/posts/{extra['id']}", params={"force": "true"})
        log.info("Website: tulisan %s diterbitkan: %s", post.get("id"), post.get("link"))
        return self._result(content, post)

    def update(
        self, post_id: str, content: PreparedContent, key: str, *, look_first: bool = True
    ) -> PublishResult:
        """SOP step 10: the same post, changed in place (same id and link). Repeating is harmless."""
        try:
            current = self.request("GET", f"wp/v2/posts/{post_id}", params={"context": "edit"})
        except GoneError:
            raise GoneError(
                CHANNEL, f"Tulisan asli (id {post_id}) sudah dihapus dari situs; unggah sebagai konten baru"
            ) from None
        data = self._post_data(content, key, str(current.get("slug") or slug_for(content.title, key)))
        post = self.request("POST", f"wp/v2/posts/{current['id']}", json=data)
        log.info("Website: tulisan %s diperbarui: %s", post.get("id"), post.get("link"))
        return self._result(content, post)

    def _post_data(self, content: PreparedContent, key: str, slug: str) -> dict[str, Any]:
        uploaded = [self._media(m, slug, content.title) for m in content.media]
        pairs = list(zip(uploaded, content.media, strict=True))
        featured = next((u["id"] for u, m in pairs if m.kind == "image"), 0)
        body = website_html(content.body) + "".join(_figure(u, m, content.title) for u, m in pairs)
        body += f"\n<!-- sop:{html.escape(key)} -->"
        data: dict[str, Any] = {"title": content.title, "content": body}
        if featured:
            data["featured_media"] = featured
        if self.categories:
            data["categories"] = self._term_ids("categories", self.categories)
        if self.tags:
            data["tags"] = self._term_ids("tags", self.tags)
        return data

    # ---- SOP step 9: replies under the citizen's comment -----------------------------------
    def _comment(self, comment_id: str) -> dict[str, Any]:
        try:
            return dict(self.request("GET", f"wp/v2/comments/{comment_id}", params={"context": "edit"}))
        except GoneError:
            raise GoneError(
                CHANNEL,
                f"Komentar asli (id {comment_id}) sudah dihapus dari situs; balasan tidak diunggah — "
                "pilih 'Tidak perlu dibalas' bila warga perlu dijawab lewat jalur lain",
            ) from None

    def whoami(self) -> tuple[str, str]:
        """``(user id, display name)`` of the user the application password belongs to (cached)."""
        if self._whoami is None:
            me = self.request("GET", "wp/v2/users/me")
            self._whoami = (str(int(me["id"])), str(me.get("name") or me.get("slug") or ""))
        return self._whoami

    def _me(self) -> int:
        return int(self.whoami()[0])

    def recent_comments(self, *, page: int = 1, per_page: int = 100) -> list[dict[str, Any]]:
        """One page of the site's comments, highest id first: approved and awaiting moderation
        (a first-time commenter's), in ``edit`` context (raw text)."""
        batch = self.request(
            "GET",
            "wp/v2/comments",
            params={
                "status": "all",
                "context": "edit",
                "orderby": "id",
                "order": "desc",
                "per_page": per_page,
                "page": page,
            },
        )
        if not isinstance(batch, list):
            raise TransientChannelError(
                CHANNEL, "Jawaban situs untuk daftar komentar tidak dapat dibaca; akan dicoba lagi"
            )
        return [c for c in batch if isinstance(c, dict)]

    def find_reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult | None:
        found = self.request(
            "GET",
            "wp/v2/comments",
            params={"parent": target.platform_id, "author": self._me(), "status": "all", "context": "edit"},
        )
        for c in found:
            raw = str((c.get("content") or {}).get("raw", ""))
            if f"sop:{key}" in raw or " ".join(raw.split()) == " ".join(text.split()):
                return self._reply_result(c, target, text)
        return None

    def reply(self, target: ReplyTarget, text: str, key: str) -> PublishResult:
        parent = self._comment(target.platform_id)
        if parent.get("status") in ("spam", "trash"):
            raise RejectedContentError(
                CHANNEL,
                f"Komentar asli (id {target.platform_id}) ada di spam/sampah situs; pulihkan di wp-admin → "
                "Komentar lalu bersihkan (clear) tugas ini, atau biarkan bila memang spam",
            )
        if parent.get("status") != "approved":  # the citizen's comment must show for the answer to show
            self.request("POST", f"wp/v2/comments/{target.platform_id}", json={"status": "approved"})
        body = html.escape(text).replace("\n", "<br />\n") + f"\n<!-- sop:{html.escape(key)} -->"
        c = self.request(
            "POST",
            "wp/v2/comments",
            json={
                "post": int(parent["post"]),
                "parent": int(parent["id"]),
                "content": body,
                "status": "approved",
            },
        )
        log.info("Website: balasan %s diunggah: %s", c.get("id"), c.get("link"))
        return self._reply_result(c, target, text)

    def _reply_result(self, c: dict[str, Any], target: ReplyTarget, text: str) -> PublishResult:
        return PublishResult(
            channel=CHANNEL,
            mode="live",
            status="published",
            post_id=str(c["id"]),
            url=str(c["link"]),
            payload_hash=reply_payload_hash(target, text),
        )

    def _posts_with_slug(self, slug: str) -> list[dict[str, Any]]:
        """Every post carrying our slug — WordPress suffixes a clash ("-2", "-3"…), so those too."""
        variants = ",".join([slug, *(f"{slug}-{n}" for n in range(2, 10))])
        found = self.request(
            "GET",
            "wp/v2/posts",
            params={
                "slug": variants,
                "status": _POST_STATUSES,
                "context": "edit",
                "orderby": "id",
                "order": "asc",
            },
        )
        return sorted((dict(p) for p in found), key=lambda p: (p.get("status") != "publish", int(p["id"])))

    def _published(self, post: dict[str, Any]) -> dict[str, Any]:
        if post.get("status") == "publish":
            return post
        return dict(self.request("POST", f"wp/v2/posts/{post['id']}", json={"status": "publish"}))

    # ---- helpers ------------------------------------------------------------------------
    def _result(self, content: PreparedContent, post: dict[str, Any]) -> PublishResult:
        return PublishResult(
            channel=CHANNEL,
            mode="live",
            status="published",
            post_id=str(post["id"]),
            url=str(post["link"]),
            payload_hash=payload_hash(build_payload(CHANNEL, content)),
        )

    def _media(self, m: MediaFile, slug: str, title: str) -> dict[str, Any]:
        # Named by the file's hash (not its position), so an update that keeps a file reuses its
        # attachment wherever it now stands, and a replaced file is uploaded under a new name.
        media_slug = f"{slug}-m-{m.sha256[:12]}"
        existing = self.request("GET", "wp/v2/media", params={"slug": media_slug, "context": "edit"})
        if existing:
            return dict(existing[0])
        name = f"{media_slug}.{m.format}"
        with Path(m.path).open("rb") as fh:
            return dict(
                self.request(
                    "POST",
                    "wp/v2/media",
                    params={"slug": media_slug, "title": title, "alt_text": title},
                    data=fh,
                    headers={
                        "Content-Type": MIME[m.format],
                        "Content-Disposition": f'attachment; filename="{name}"',
                    },
                )
            )

    def _term_ids(self, taxonomy: str, names: tuple[str, ...]) -> list[int]:
        ids = []
        for name in names:
            hits = self.request("GET", f"wp/v2/{taxonomy}", params={"search": name, "per_page": 100})
            match = [h for h in hits if h.get("name", "").lower() == name.lower() or h.get("slug") == name]
            if not match:
                kind = "Kategori" if taxonomy == "categories" else "Tag"
                raise RejectedContentError(
                    CHANNEL,
                    f"{kind} '{name}' tidak ada di situs; "
                    "buat dulu di WordPress atau perbaiki config/office.yaml",
                )
            ids.append(int(match[0]["id"]))
        return ids


WordPressPublisher = WordPressApi
"""The name the publishing code knew first: the same class."""


def _figure(uploaded: dict[str, Any], m: MediaFile, title: str) -> str:
    src = html.escape(str(uploaded.get("source_url", "")), quote=True)
    alt = html.escape(title, quote=True)
    if m.kind == "video":
        return f'\n<figure class="wp-block-video"><video controls src="{src}"></video></figure>'
    return f'\n<figure class="wp-block-image"><img src="{src}" alt="{alt}" /></figure>'


class WordPressCollector:
    """SOP step 6 on the website: comments on the site's posts, approved and awaiting moderation.

    The watermark is the highest comment id already recorded; comments are read newest first,
    page by page, until the watermark is reached.
    """

    channel = CHANNEL

    def __init__(self, publisher: WordPressApi, *, per_page: int = 100, max_pages: int = 20) -> None:
        self.wp = publisher
        self.per_page = per_page
        self.max_pages = max_pages

    def collect(self, watermark: str | None) -> CollectResult:
        last = int(watermark) if watermark and watermark.isdigit() else 0
        items: list[IncomingItem] = []
        newest = last
        for page in range(1, self.max_pages + 1):
            batch = self.wp.recent_comments(page=page, per_page=self.per_page)
            fresh = [c for c in batch if int(c["id"]) > last]
            items.extend(self._item(c) for c in fresh)
            newest = max([newest, *(int(c["id"]) for c in fresh)])
            if len(fresh) < len(batch) or len(batch) < self.per_page:
                break
        items.reverse()  # oldest first
        return CollectResult(items=items, watermark=str(newest) if newest > last else watermark)

    def _item(self, c: dict[str, Any]) -> IncomingItem:
        raw_text = (c.get("content") or {}).get("raw")
        if raw_text is None:
            raw_text = html.unescape(re.sub(r"<[^>]+>", "", (c.get("content") or {}).get("rendered", "")))
        created = datetime.fromisoformat(str(c["date_gmt"])).replace(tzinfo=UTC).astimezone(WIB)
        parent = int(c.get("parent") or 0)
        return IncomingItem(
            channel=CHANNEL,
            platform_id=str(c["id"]),
            kind="comment",
            author=str(c.get("author_name") or ""),
            text=str(raw_text).strip(),
            created_at=created,
            url=str(c.get("link") or "") or None,
            thread_id=str(c.get("post")),
            parent_id=str(parent) if parent else None,
            post_ref=str(c.get("post")),
            raw={
                k: c.get(k)
                for k in ("id", "post", "parent", "author_name", "date_gmt", "status", "link", "content")
            },
        )
