"""Notifications beside the in-app notices: each person's switches per kind and channel
(email, Telegram), a once-per-event log, and the Telegram Bot API adapter.

- prefs.py      kinds and channels, `notification_wanted`, `notification_once`, saving the
                profile section (no row = on, the default)
- telegram.py   the bot token and webhook secret in settings, linking a chat with a
                one-time code (`/start CODE` to the bot, received by the webhook), the
                Telegram outbox (`telegram_queue`) and its sender (`telegram_send`: rate
                limits, 429 `retry_after`, 5xx back-off, 403 unlinks)
- routes.py     /profil/notifikasi (the person's switches and Telegram link),
                /admin/telegram (the bot), POST /telegram/webhook (Telegram's updates)

Domains call `notification_wanted`/`notification_once` beside their `mail_queue` and
`telegram_queue` for the Telegram copy; this package knows no domain beyond the list of
kinds a person can switch.
"""
