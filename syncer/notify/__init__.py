"""Notifications: digests and alerts to WeCom, DingTalk, Feishu, Slack and email.

Modules: :mod:`~syncer.notify.config` (the ``notify:`` models), :mod:`~.escape`
(cell text made inert per format), :mod:`~.message` and :mod:`~.compose` (what a message
says, per locale), :mod:`~.render` (each service's payload), :mod:`~.services` (signing,
sending, reading answers), :mod:`~.dispatch` (background queue, rate limits, retries),
:mod:`~.store` (notification state), :mod:`~.notifier` (events from cycles) and
:mod:`~.runtime` (wiring for the daemon). See docs/notifications.md.
"""
