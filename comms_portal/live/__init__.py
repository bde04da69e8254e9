"""The live channel: one websocket per page, topics of any kind, a Redis publish per change.

Apps register their kinds of topic (``topics.register``) and publish messages on them
(``publish``, ``publish_many``, ``notify_user``); pages watch topics over ``/ws/live/``
(``consumer.LiveConsumer``); each ASGI process keeps one pub/sub connection and hands every
message to its sockets that watch the topic (``fanout``). It imports no feature app.
"""

from comms_portal.live.publish import notify_user, publish, publish_many
from comms_portal.live.topics import TopicKind, register, topic_of, user_topic

__all__ = [
    "TopicKind",
    "notify_user",
    "publish",
    "publish_many",
    "register",
    "topic_of",
    "user_topic",
]
