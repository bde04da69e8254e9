"""What the directory tells the rest of the portal, without knowing who listens."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a sync has committed people as removed from the directory, with
# ``graph_ids``: the Entra object ids of the people who left. Receivers drop what they keep
# about them (presence connects one that forgets their stored presence).
people_removed = Signal()
