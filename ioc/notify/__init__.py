"""Alert notifications: the adapter around the pure routing of :mod:`ioc.alerts.routing` —
senders (webhook, e-mail) and the `ioc run notifier` process (:mod:`ioc.notify.service`)."""
