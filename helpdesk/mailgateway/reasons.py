"""Why the gateway did what it did: the codes and their wording live in helpdesk.inbound.reasons."""
from helpdesk.inbound.reasons import OUTCOMES, REASONS, STEPS, describe, outcome_label, step_label  # noqa: F401
