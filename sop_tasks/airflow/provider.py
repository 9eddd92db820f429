"""Provider info: registers the SOP's connection types so staff can fill them in the UI."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "sop-tasks",
        "name": "SOP Media Sosial Dinarpus",
        "description": "Connection types of the Dinarpus Kendal social-media SOP pipeline.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "hook-class-name": "sop_tasks.airflow.hooks.WordPressHook",
                "hook-name": "WordPress (Website SOP)",
                "connection-type": "wordpress",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {
                        "host": "Alamat situs",
                        "login": "Nama pengguna",
                        "password": "Application password",
                    },
                    "placeholders": {"host": "https://dinarpus.kendalkab.go.id"},
                },
            },
            {
                "hook-class-name": "sop_tasks.airflow.hooks.XHook",
                "hook-name": "X / Twitter (SOP)",
                "connection-type": "x_twitter",
                "conn-fields": {
                    "access_token": {"label": "Access token", "schema": {"type": ["string", "null"]}},
                    "access_token_secret": {
                        "label": "Access token secret",
                        "schema": {"type": ["string", "null"]},
                        "sensitive": True,
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "API key (consumer key)", "password": "API key secret"},
                    "placeholders": {},
                },
            },
            {
                "hook-class-name": "sop_tasks.airflow.hooks.InstagramHook",
                "hook-name": "Instagram (SOP)",
                "connection-type": "instagram_sop",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port", "extra"],
                    "relabeling": {"login": "Nama pengguna Instagram", "password": "Kata sandi"},
                    "placeholders": {},
                },
            },
        ],
    }
