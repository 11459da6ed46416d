"""The chat hub on a real Redis and without one: a nudge asked for in a transaction goes out only when it commits
(never after a rollback), reaches the subscriptions of its channel only, and crosses processes through Redis
(two hubs with the same prefix stand for two web processes)."""

from helpdesk.chat import hub as chat_hub
from helpdesk.chat.hub import Hub
from helpdesk.extensions import db
from tests.conftest import REDIS_URL


def test_a_nudge_goes_out_after_the_commit_and_never_after_a_rollback(app):
    with chat_hub.subscribe(["chat:1"]) as subscription:
        chat_hub.publish_after_commit("chat:1", {"type": "event", "id": 7})
        assert subscription.get(0.05) == []  # not before the commit
        db.session.commit()
        assert subscription.get(1.0) == [{"type": "event", "id": 7}]
        chat_hub.publish_after_commit("chat:1", {"type": "event", "id": 8})
        db.session.rollback()
        db.session.commit()
        assert subscription.get(0.2) == []


def test_nudges_reach_only_their_channel_in_process():
    local = Hub(None)
    with local.subscribe(["chat:1"]) as one, local.subscribe(["chat:2", "desk"]) as other:
        local.publish("chat:1", {"n": 1})
        local.publish("desk", {"n": 2})
        assert one.get(0.5) == [{"n": 1}]
        assert other.get(0.5) == [{"n": 2}]
        assert one.get(0.05) == []


def test_nudges_cross_processes_through_redis(redis_prefix):
    web_a, web_b = Hub(REDIS_URL, redis_prefix), Hub(REDIS_URL, redis_prefix)
    stranger = Hub(REDIS_URL, redis_prefix + "-other-desk")
    try:
        with web_b.subscribe(["chat:5"]) as on_b, stranger.subscribe(["chat:5"]) as elsewhere:
            assert on_b.get(5.0) == [chat_hub.RESYNC]  # the listener connected: streams re-read the database
            assert elsewhere.get(5.0) == [chat_hub.RESYNC]
            web_a.publish("chat:5", {"type": "event", "chat": 5, "id": 11})
            web_a.publish("chat:6", {"type": "event", "chat": 6, "id": 12})
            assert on_b.get(5.0) == [{"type": "event", "chat": 5, "id": 11}]
            assert on_b.get(0.3) == []  # chat 6 is not ours
            assert elsewhere.get(0.3) == []  # another desk on the same Redis hears nothing
    finally:
        for one in (web_a, web_b, stranger):
            one.stop()
