"""One hook per platform, built from its Airflow Connection (secrets only from there).

| connection    | type        | fields                                                        |
|---------------|-------------|---------------------------------------------------------------|
| sop_website   | wordpress   | host = site URL, login = user, password = application password |
| sop_twitter   | x_twitter   | login = API key, password = API secret, extra: access_token,  |
|               |             | access_token_secret                                           |
| sop_instagram | instagram   | login = username, password = password (session: encrypted,   |
|               |             | masked Variable ``sop_instagram_session_secret``)             |

A channel whose connection is not defined publishes in outbox mode.

Each hook's ``get_conn()`` returns the platform's one client — :class:`WordPressApi`,
:class:`XApi`, :class:`InstagramApi` — built once per hook and cached; publishers, repliers,
updaters and collectors are that client (or read through it). Hooks are found through one
registry, :data:`HOOKS` (channel → hook class).
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from airflow.sdk import BaseHook

from sop_tasks.airflow.provider import CONNECTION_TYPES, ui_field_behaviour
from sop_tasks.channels.instagram import LEGACY_SESSION_VARIABLES, SESSION_VARIABLE, InstagramApi
from sop_tasks.channels.twitter import XApi, XCredentials
from sop_tasks.channels.website import WordPressApi, WordPressCredentials
from sop_tasks.config import OfficeConfig, load_config
from sop_tasks.errors import CredentialsError

log = logging.getLogger(__name__)
INSTAGRAM_SESSION_VARIABLE = SESSION_VARIABLE


class WordPressHook(BaseHook):
    channel: ClassVar[str] = "website"
    conn_name_attr = "wordpress_conn_id"
    default_conn_name = "sop_website"
    conn_type = "wordpress"
    hook_name = CONNECTION_TYPES[conn_type]["name"]

    def __init__(self, wordpress_conn_id: str = default_conn_name, cfg: OfficeConfig | None = None) -> None:
        super().__init__()
        self.conn_id = wordpress_conn_id
        self._cfg = cfg
        self._api: WordPressApi | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ui_field_behaviour(cls.conn_type)

    def get_conn(self) -> WordPressApi:
        """The website's client, built on first use and cached for this hook."""
        if self._api is None:
            conn = self.get_connection(self.conn_id)
            host = conn.host or ""
            if not host.startswith(("http://", "https://")):
                host = f"{conn.schema or 'https'}://{host}"
            cfg = self._cfg or load_config()
            self._api = WordPressApi(
                WordPressCredentials(host, conn.login or "", conn.password or ""),
                categories=tuple(cfg.website.categories),
                tags=tuple(cfg.website.tags),
                conn_id=self.conn_id,
                timeout=float(conn.extra_dejson.get("timeout", 30)),
            )
        return self._api

    def test_connection(self) -> tuple[bool, str]:
        return self.get_conn().test_connection()


class XHook(BaseHook):
    """X (Twitter), OAuth 1.0a user context: the four keys of the app's account."""

    channel: ClassVar[str] = "twitter"
    conn_name_attr = "x_conn_id"
    default_conn_name = "sop_twitter"
    conn_type = "x_twitter"
    hook_name = CONNECTION_TYPES[conn_type]["name"]

    def __init__(self, x_conn_id: str = default_conn_name, cfg: OfficeConfig | None = None) -> None:
        super().__init__()
        self.conn_id = x_conn_id
        self._cfg = cfg
        self._api: XApi | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ui_field_behaviour(cls.conn_type)

    def get_conn(self) -> XApi:
        """The X account's client, built on first use and cached for this hook."""
        if self._api is None:
            cfg = self._cfg or load_config()
            self._api = XApi(self.credentials(), update_mode=cfg.follow_up.x_update)
        return self._api

    def credentials(self) -> XCredentials:
        conn = self.get_connection(self.conn_id)
        extra = conn.extra_dejson
        keys = {
            "api_key": conn.login or "",
            "api_secret": conn.password or "",
            "access_token": str(extra.get("access_token") or ""),
            "access_token_secret": str(extra.get("access_token_secret") or ""),
        }
        missing = [k for k, v in keys.items() if not v]
        if missing:
            raise CredentialsError(
                "twitter",
                f"Koneksi {self.conn_id} belum lengkap: isi {', '.join(missing)} (Admin → Connections)",
            )
        return XCredentials(**keys)

    def test_connection(self) -> tuple[bool, str]:
        try:
            return self.get_conn().test_connection()
        except CredentialsError as exc:
            return False, str(exc)


class VariableSessionStore:
    """The Instagram session in an Airflow Variable, encrypted with Airflow's Fernet key.

    Shared by every worker (not one worker's disk); never logged. The key contains "secret", so
    Airflow masks the value in its UI, REST API and task logs. A session still kept under the
    first, unmasked name is moved to the new one on first use (nobody has to log in again).
    """

    def __init__(
        self, key: str = INSTAGRAM_SESSION_VARIABLE, legacy: tuple[str, ...] = LEGACY_SESSION_VARIABLES
    ) -> None:
        self.key = key
        self.legacy = legacy

    def load(self) -> dict[str, Any] | None:
        from airflow.sdk import Variable

        raw = Variable.get(self.key, default=None)
        if not raw:
            raw = self._migrate()
        return dict(json.loads(raw)) if raw else None

    def _migrate(self) -> str | None:
        from airflow.sdk import Variable
        from airflow.sdk.log import mask_secret

        for old in self.legacy:
            raw = Variable.get(old, default=None)
            if not raw:
                continue
            mask_secret(raw)  # read under a name Airflow does not mask: mask it by hand
            Variable.set(self.key, raw, description=DESCRIPTION)
            Variable.delete(old)
            log.info("Sesi Instagram dipindahkan dari Variable %s ke %s (disamarkan).", old, self.key)
            return str(raw)
        return None

    def save(self, settings: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        Variable.set(self.key, json.dumps(settings), description=DESCRIPTION)

    def __repr__(self) -> str:
        return f"VariableSessionStore({self.key!r})"


DESCRIPTION = "Sesi Instagram SOP (terenkripsi dan disamarkan; jangan diubah)"


class InstagramHook(BaseHook):
    channel: ClassVar[str] = "instagram"
    conn_name_attr = "instagram_conn_id"
    default_conn_name = "sop_instagram"
    conn_type = "instagram_sop"
    hook_name = CONNECTION_TYPES[conn_type]["name"]

    def __init__(self, instagram_conn_id: str = default_conn_name, cfg: OfficeConfig | None = None) -> None:
        super().__init__()
        self.conn_id = instagram_conn_id
        self._api: InstagramApi | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ui_field_behaviour(cls.conn_type)

    def get_conn(self) -> InstagramApi:
        """The Instagram account's client, built on first use and cached for this hook (so one
        hook logs in at most once)."""
        if self._api is None:
            conn = self.get_connection(self.conn_id)
            self._api = InstagramApi(conn.login or "", conn.password or "", VariableSessionStore())
        return self._api

    def test_connection(self) -> tuple[bool, str]:
        return self.get_conn().test_connection()


HOOKS: dict[str, type[WordPressHook | XHook | InstagramHook]] = {
    hook.channel: hook for hook in (WordPressHook, XHook, InstagramHook)
}
"""The one registry: channel → hook class (each takes ``(conn_id, cfg=…)``)."""


def hook_for(channel: str, conn_id: str, cfg: OfficeConfig) -> WordPressHook | XHook | InstagramHook:
    """The hook of a channel, for a defined connection."""
    try:
        hook = HOOKS[channel]
    except KeyError:
        raise LookupError(channel) from None
    return hook(conn_id, cfg=cfg)


def collector_for(channel: str, conn_id: str, cfg: OfficeConfig) -> Any:
    """The incoming-information collector of a channel (SOP step 6), for a defined connection:
    built on the client its hook returns."""
    api = hook_for(channel, conn_id, cfg).get_conn()
    if isinstance(api, WordPressApi):
        from sop_tasks.channels.website import WordPressCollector

        return WordPressCollector(api)
    if isinstance(api, XApi):
        from sop_tasks.channels.twitter_inbox import XCollector

        return XCollector(api)
    from sop_tasks.channels.instagram_inbox import InstagramCollector

    return InstagramCollector(api=api)
