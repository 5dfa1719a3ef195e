"""Suite-wide settings: hypothesis without its per-example deadline.

A deadline is a timing assertion, and these machines are shared and noisy: a property
test must fail on a wrong answer, never on a slow one."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("syncer", deadline=None)
settings.load_profile("syncer")
