"""Generic outgoing delivery: outbox rows written in the caller's transaction, sent by jobs after
commit with retries. Knows nothing of tickets; callers hand it rendered content and headers."""

MODELS = ("models", "sms_models")
SMS_SWEEP_JOB = "sms.sweep"


def init_app(app):
    """Offer every notice to the SMS channel too; with an SMS provider, sweep the SMS outbox every
    SMS_SWEEP_MINUTES for texts whose retry is due (without one no text waits for a retry, so no job runs)."""
    from helpdesk import scheduler
    from helpdesk.notify import sms

    sms.register()
    scheduler.register_when(SMS_SWEEP_JOB, _sms_sweep)


def _sms_sweep(config):
    from helpdesk import scheduler
    from helpdesk.notify.sms_tasks import SWEEP_TASK

    if not (config.get("SMS_PROVIDER") and config.get("SMS_SWEEP_MINUTES")):
        return None
    return scheduler.Job(SMS_SWEEP_JOB, SWEEP_TASK, every_minutes=int(config["SMS_SWEEP_MINUTES"]))
