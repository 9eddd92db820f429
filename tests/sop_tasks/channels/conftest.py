"""Fixtures the channel test modules share, defined once in ``tests.support``.

- ``x_spec`` / ``x_api``: X mocked with ``responses``, every request validated against X API v2's
  OpenAPI spec when the test ends (skipped, with the reason, where ``shared/specs`` is absent).
- ``ig``: Instagram's private API faked with ``responses``, instagrapi's sleeps only recorded.

A module may still define its own fixture of the same name; pytest then uses the module's.
"""

from tests.support.instagram_fake import ig
from tests.support.x_fake import x_api, x_spec

__all__ = ["ig", "x_api", "x_spec"]
