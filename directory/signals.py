"""What the directory tells the rest of the portal, without knowing who listens.

Each signal is sent after a sync has committed, with ``graph_ids`` (the Entra object ids of
the people concerned) and ``tenant_id`` (the tenant the directory was read from). Receivers
must accept further keyword arguments.
"""

from __future__ import annotations

from django.dispatch import Signal

# People removed from the directory (deleted in the tenant). Receivers drop what they keep
# about them (presence forgets their stored presence; accounts lets them in no more).
people_removed = Signal()

# People whose account is disabled in the tenant (``accountEnabled`` false): every one the
# sync read as disabled, whether newly or again, so a receiver that missed one catches up at
# the next full sync. Accounts signs them out everywhere and keeps them out.
people_disabled = Signal()

# People who are back: enabled again after being disabled, or listed again after being
# removed (a deleted account restored). Accounts lets them sign in again.
people_enabled = Signal()
