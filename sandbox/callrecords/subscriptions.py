"""Change notifications on call records.

https://learn.microsoft.com/graph/api/resources/subscription (maximum lifetimes) and
https://learn.microsoft.com/graph/api/subscription-post-subscriptions: ``communications/
callRecords`` takes application ``CallRecords.Read.All`` only, lives at most 4,230 minutes
(under three days), carries no resource data, and an organization may hold at most 100 such
subscriptions. A record's first version is notified as ``created``, later ones as ``updated``.
"""

from __future__ import annotations

from sandbox.notifications import register_subscription_resource

CALLRECORDS_SUBSCRIPTION_MAX_MINUTES = 4230
CALLRECORDS_SUBSCRIPTIONS_PER_ORGANIZATION = 100

CALLRECORDS = register_subscription_resource(
    "callRecords",
    r"communications/callRecords/?",
    ("created", "updated"),
    CALLRECORDS_SUBSCRIPTION_MAX_MINUTES,
    (),  # delegated permissions are not supported
    ("CallRecords.Read.All",),
    org_quota=CALLRECORDS_SUBSCRIPTIONS_PER_ORGANIZATION,
    supports_resource_data=False,
)
