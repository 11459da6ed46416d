"""Generic outgoing delivery: outbox rows written in the caller's transaction, sent by jobs after
commit with retries. Knows nothing of tickets; callers hand it rendered content and headers."""

MODELS = ("models", "sms_models")


def init_app(app):
    """Offer every notice to the SMS channel too, and sweep the SMS outbox every SMS_SWEEP_MINUTES."""
    from helpdesk import scheduler
    from helpdesk.notify import sms
    from helpdesk.notify.sms_tasks import SWEEP_TASK

    sms.register()
    if app.config.get("SMS_SWEEP_MINUTES"):
        scheduler.register(scheduler.Job("sms.sweep", SWEEP_TASK, every_minutes=int(app.config["SMS_SWEEP_MINUTES"])))
