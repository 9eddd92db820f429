"""Provider info: registers the SOP's connection types so staff can fill them in the UI.

The one description of each connection form; the hooks in :mod:`sop_tasks.airflow.hooks` take
their name and field behaviour from here (this module stays import-light: Airflow's provider
manager reads it at start-up).
"""

from __future__ import annotations

from typing import Any

# conn_type -> hook class, name shown in the UI, field behaviour (Airflow's hook spelling).
CONNECTION_TYPES: dict[str, dict[str, Any]] = {
    "wordpress": {
        "hook": "WordPressHook",
        "name": "WordPress (Website SOP)",
        "ui": {
            "hidden_fields": ["schema", "port", "extra"],
            "relabeling": {
                "host": "Alamat situs",
                "login": "Nama pengguna",
                "password": "Application password",
            },
            "placeholders": {"host": "https://dinarpus.kendalkab.go.id", "login": "admin"},
        },
    },
    "x_twitter": {
        "hook": "XHook",
        "name": "X / Twitter (SOP)",
        "ui": {
            "hidden_fields": ["host", "schema", "port"],
            "relabeling": {"login": "API key (consumer key)", "password": "API key secret"},
            "placeholders": {},
        },
        "conn-fields": {
            "access_token": {"label": "Access token", "schema": {"type": ["string", "null"]}},
            "access_token_secret": {
                "label": "Access token secret",
                "schema": {"type": ["string", "null"]},
                "sensitive": True,
            },
        },
    },
    "instagram_sop": {
        "hook": "InstagramHook",
        "name": "Instagram (SOP)",
        "ui": {
            "hidden_fields": ["host", "schema", "port", "extra"],
            "relabeling": {"login": "Nama pengguna Instagram", "password": "Kata sandi"},
            "placeholders": {},
        },
    },
}


def ui_field_behaviour(conn_type: str) -> dict[str, Any]:
    """A hook's ``get_ui_field_behaviour()`` answer for one of our connection types."""
    ui = CONNECTION_TYPES[conn_type]["ui"]
    return {key: (list(value) if isinstance(value, list) else dict(value)) for key, value in ui.items()}


def get_provider_info() -> dict[str, Any]:
    types = []
    for conn_type, spec in CONNECTION_TYPES.items():
        entry: dict[str, Any] = {
            "hook-class-name": f"sop_tasks.airflow.hooks.{spec['hook']}",
            "hook-name": spec["name"],
            "connection-type": conn_type,
            "ui-field-behaviour": {key.replace("_", "-"): value for key, value in spec["ui"].items()},
        }
        if "conn-fields" in spec:
            entry["conn-fields"] = spec["conn-fields"]
        types.append(entry)
    return {
        "package-name": "sop-tasks",
        "name": "SOP Media Sosial Dinarpus",
        "description": "Connection types of the Dinarpus Kendal social-media SOP pipeline.",
        "versions": ["0.1.0"],
        "connection-types": types,
    }
