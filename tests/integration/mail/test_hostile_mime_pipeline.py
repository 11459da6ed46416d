"""Broken mail built by Hypothesis through the whole pipeline, on both databases: every message gets
exactly one outcome, no exception escapes the batch, and the raw bytes are kept for every message."""
import os
import random

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk import storage
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.models import InboundMessage
from tests.hostile_mime import hostile_mail


@settings(max_examples=15, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(hostile_mail(), min_size=1, max_size=6))
def test_broken_mail_gets_one_outcome_each_and_loses_nothing(app, smtp, batch):
    # Hypothesis seeds the random module alike for every example; the search index names its segments
    # with it, and two examples writing one index must not pick the same names.
    random.seed(os.urandom(16))
    # Each example is a batch of its own: make every message unique, as separate deliveries are.
    batch = [raw + b"\r\nunique %d-%d" % (id(batch), position) for position, raw in enumerate(batch)]
    outcomes = list(pipeline.ingest([pipeline.Fetched("file", raw, label=str(i)) for i, raw in enumerate(batch)]))

    assert [o.label for o in outcomes] == [str(i) for i in range(len(batch))]
    db.session.expire_all()
    for raw, outcome in zip(batch, outcomes, strict=True):
        assert outcome.outcome, outcome
        if outcome.inbound_id is None:  # "not mail at all": nothing to keep it for, it is logged
            assert outcome.outcome in ("unreadable", "rejected", "quarantined"), outcome
            continue
        row = db.session.get(InboundMessage, outcome.inbound_id)
        assert row is not None and row.status != "received", outcome
        assert storage.get(row.raw_key) == raw
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage).where(
        InboundMessage.status == "received")) == 0
