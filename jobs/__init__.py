"""The RQ side: worker and cron entry points and thin job functions.

Job functions take ids, run inside an app context opened by `jobs.runner.run`, call one
domain service and raise on failure. They are enqueued by dotted name from the app
(`enqueue_after_commit("jobs.mail.send_email", outbox_id)`), which never imports this package.
"""
