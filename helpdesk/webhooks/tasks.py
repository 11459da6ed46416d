"""The webhooks' periodic job: every minute, hand over the deliveries that are due (retries whose time came, and
what a dead worker left), so retries happen without anyone asking."""
from helpdesk.jobs import task_path
from helpdesk.webhooks import delivery

SWEEP_JOB = "webhooks.sweep"


def sweep_task(period: str = "") -> int:
    """The scheduler's job (the period is not needed: the due rows say what to do)."""
    return delivery.sweep()


def _sweep_job(config):
    from helpdesk import scheduler

    return scheduler.Job(SWEEP_JOB, task_path(sweep_task), every_minutes=1)


def register_hooks(app) -> None:
    """Follow the domain events (a delivery row per endpoint that hears one) and run the sweep every minute."""
    from helpdesk import events, scheduler

    events.follow(delivery.on_event)
    scheduler.register_when(SWEEP_JOB, _sweep_job)
