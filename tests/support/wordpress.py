"""A real WordPress for tests: Debian's ``wordpress`` + a private MariaDB + ``php -S``.

Everything lives in one temporary folder: the MariaDB data directory and socket, a hard-linked
copy of ``/usr/share/wordpress`` with its own ``wp-config.php`` (``WP_ENVIRONMENT_TYPE`` local,
so application passwords work over plain HTTP), and the uploads. Plain permalinks, so the REST
API lives at ``?rest_route=/`` and must be discovered. ``python -m tests.support.wordpress``
starts one by hand and prints the ``AIRFLOW_CONN_SOP_WEBSITE`` value.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.support.ports import free_port

WP_SRC = Path("/usr/share/wordpress")
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class WordPressSite:
    url: str
    admin_user: str
    admin_password: str
    app_password: str
    subscriber_user: str
    subscriber_app_password: str
    root: Path
    socket: Path

    def publish_post(self, title: str, body: str) -> Any:
        """A post published through the project's own WordPress publisher (as an upload would),
        for the tests that need citizens' comments under a real post."""
        import uuid

        from sop_tasks.channels.website import WordPressCredentials, WordPressPublisher
        from sop_tasks.content import PreparedContent

        pub = WordPressPublisher(WordPressCredentials(self.url, self.admin_user, self.app_password))
        content = PreparedContent(
            title=title, body=body, channels=("website",), caption_instagram="", text_twitter=""
        )
        return pub.publish(content, f"sop0-website-{uuid.uuid4().hex[:12]}")

    def conn_json(
        self, *, password: str | None = None, user: str | None = None, timeout: float | None = None
    ) -> str:
        conn = {
            "conn_type": "wordpress",
            "host": self.url,
            "login": user or self.admin_user,
            "password": password or self.app_password,
        }
        if timeout is not None:
            conn["extra"] = {"timeout": timeout}
        return json.dumps(conn)

    def delay_posts(self, seconds: int | None) -> None:
        """Make post creation sleep (test-only mu-plugin); None switches it off."""
        flag = self.root / "www" / "wp-content" / "mu-plugins" / "delay-posts"
        self.delayed_started_file.unlink(missing_ok=True)
        if seconds is None:
            flag.unlink(missing_ok=True)
        else:
            flag.write_text(str(seconds))

    @property
    def delayed_started_file(self) -> Path:
        """Written by the test plugin when a delayed post request has reached WordPress."""
        return self.root / "www" / "wp-content" / "mu-plugins" / "delay-started"

    def posts_with_slug_prefix(self, prefix: str) -> list[str]:
        """Post slugs in the database itself (not through the API under test)."""
        out = self.sql(
            "SELECT post_name FROM wp_posts WHERE post_type='post' AND post_status <> 'trash' "
            f"AND post_name LIKE '{prefix}%'"
        )
        return [line for line in out.splitlines() if line]

    def post_comment(self, post_id: int | str, author: str, email: str, text: str, parent: int = 0) -> None:
        """Leave a comment through the site's own form, as a citizen would."""
        r = requests.post(
            f"{self.url}/wp-comments-post.php",
            data={
                "comment_post_ID": str(post_id),
                "author": author,
                "email": email,
                "url": "",
                "comment": text,
                "comment_parent": str(parent),
                "submit": "Kirim Komentar",
            },
            allow_redirects=False,
            timeout=20,
        )
        if r.status_code not in (302, 303):
            raise AssertionError(f"comment form answered {r.status_code}: {r.text[:300]}")

    def sql(self, query: str) -> str:
        out = subprocess.run(
            ["mariadb", "--no-defaults", "-S", str(self.socket), "-uroot", "-N", "-B", "wp", "-e", query],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout


def available() -> str | None:
    """None when a local WordPress can run here, else why not."""
    for need in ("php", "mariadbd", "mariadb-install-db", "mariadb"):
        if shutil.which(need) is None and not Path(f"/usr/sbin/{need}").exists():
            return f"{need} not installed (apt-get install wordpress mariadb-server php-cli php-mysql)"
    if not (WP_SRC / "wp-load.php").exists():
        return "Debian package 'wordpress' not installed"
    return None


def _wait(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready in {timeout}s")


def _wp_config(db_socket: Path, url: str) -> str:
    keys = "\n".join(
        f"define('{k}', '{secrets.token_hex(32)}');"
        for k in (
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        )
    )
    return f"""<?php
define('DB_NAME', 'wp');
define('DB_USER', 'wp');
define('DB_PASSWORD', 'wp-test');
define('DB_HOST', 'localhost:{db_socket}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
{keys}
$table_prefix = 'wp_';
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
define('WP_DEBUG', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
"""


@contextlib.contextmanager
def wordpress_site() -> Iterator[WordPressSite]:
    why = available()
    if why:
        raise RuntimeError(why)
    root = Path(tempfile.mkdtemp(prefix="sop-wp-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        data, sock = root / "mysql", root / "mysql.sock"
        # Its own tmpdir: at start MariaDB deletes every "#sql*" temporary table file in its tmpdir,
        # and with the default /tmp that was another site's (a second pytest-xdist worker's) —
        # "Error on delete of '/tmp/#sql-temptable-….MAI'", the bootstrap aborted.
        tmp = root / "mysql-tmp"
        tmp.mkdir()
        install = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={data}",
                f"--tmpdir={tmp}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
        )
        if install.returncode:
            raise RuntimeError(
                f"mariadb-install-db failed:\n{install.stdout[-2000:]}\n{install.stderr[-2000:]}"
            )
        procs.append(
            subprocess.Popen(
                [
                    "/usr/sbin/mariadbd",
                    "--no-defaults",
                    f"--datadir={data}",
                    f"--tmpdir={tmp}",
                    f"--socket={sock}",
                    "--skip-networking",
                    "--user=root",
                    f"--pid-file={root / 'mysql.pid'}",
                    f"--log-error={root / 'mysql.err'}",
                    "--innodb-buffer-pool-size=32M",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        _wait(sock.exists, 60, "MariaDB")
        subprocess.run(
            [
                "mariadb",
                "--no-defaults",
                "-S",
                str(sock),
                "-uroot",
                "-e",
                "CREATE DATABASE wp; CREATE USER 'wp'@'localhost' IDENTIFIED BY 'wp-test'; "
                "GRANT ALL ON wp.* TO 'wp'@'localhost';",
            ],
            check=True,
            capture_output=True,
        )
        docroot = root / "www"
        try:
            subprocess.run(["cp", "-rl", str(WP_SRC), str(docroot)], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            shutil.copytree(WP_SRC, docroot, symlinks=False)
        (docroot / "wp-config.php").unlink()
        (docroot / ".htaccess").unlink(missing_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        (docroot / "wp-config.php").write_text(_wp_config(sock, url))
        (docroot / "wp-content" / "uploads").mkdir(parents=True, exist_ok=True)
        (docroot / "wp-content" / "mu-plugins").mkdir(exist_ok=True)
        shutil.copyfile(
            HERE / "wp" / "sop-test-delay.php", docroot / "wp-content" / "mu-plugins" / "sop-test-delay.php"
        )
        admin_pw = secrets.token_urlsafe(14)
        out = subprocess.run(
            ["php", str(HERE / "wp" / "install.php"), str(docroot), url, admin_pw],
            check=True,
            capture_output=True,
            text=True,
        )
        creds = json.loads(out.stdout[out.stdout.index("{") :])
        env = {**os.environ, "WP_ENVIRONMENT_TYPE": "local", "PHP_CLI_SERVER_WORKERS": "4"}
        procs.append(
            subprocess.Popen(
                ["php", "-S", f"127.0.0.1:{port}", "-t", str(docroot)],
                cwd=docroot,
                env=env,
                stdout=(root / "php.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

        def up() -> bool:
            try:
                return requests.get(url + "/", timeout=2).status_code < 500
            except requests.RequestException:
                return False

        _wait(up, 30, "WordPress")
        yield WordPressSite(url=url, root=root, socket=sock, **creds)
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(20)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    with wordpress_site() as site:
        print(f"WordPress: {site.url}  admin / {site.admin_password}")
        print(f"export AIRFLOW_CONN_SOP_WEBSITE='{site.conn_json()}'")
        print("Ctrl-C untuk berhenti.")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
