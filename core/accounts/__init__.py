"""The linked account, in one place: everything else (the poll job, token refresh, webhooks,
the web pages, the commands) calls this package, and nothing else writes
`social_accounts.status` or queues the needs-reconnect notice.

- `states`: the states (active, needs_reconnect, revoked, disconnected), every transition
  and the notice it queues (once per reconnect episode), why a disconnected account is
  kept, tokens sealed and opened, lookups by (network, external id) and by person.
- `polling`: the poll lease, `wake` (a webhook's "poll it now"), storing a poll.
- `refresh`: the token-refresh claim and storing its result.

Which activity an account flattrs is core.triggers' rule (the network's triggers, the
deployment's choice, the person's choice, always-on ones), applied by the poll job through
the network's spec for every network alike. The leases are core.leases.
"""

from core.accounts.polling import (
    LeasedAccount,
    PollOutcome,
    lease_due,
    release_leases,
    store_poll,
    wake,
)
from core.accounts.refresh import (
    RefreshClaim,
    claim_refresh,
    give_back,
    refused,
    store_refreshed,
)
from core.accounts.states import (
    ACTIVE,
    DISCONNECTED,
    LINKED,
    MUST_RECONNECT,
    NEEDS_RECONNECT,
    REVOKED,
    STATES,
    STATUS_ACTIVE,
    STATUS_RECONNECT,
    account_identity,
    disconnect,
    find,
    forget,
    is_active,
    label,
    link_account,
    linked,
    needs_reconnect,
    next_due_at,
    open_token,
    person_account,
    revoke,
    seal_token,
    set_triggers,
    status_counts,
)

__all__ = [
    "ACTIVE", "DISCONNECTED", "LINKED", "MUST_RECONNECT", "NEEDS_RECONNECT", "REVOKED",
    "STATES", "STATUS_ACTIVE", "STATUS_RECONNECT", "LeasedAccount", "PollOutcome",
    "RefreshClaim", "account_identity", "claim_refresh", "disconnect", "find", "forget",
    "give_back", "is_active", "label", "lease_due", "link_account", "linked",
    "needs_reconnect", "next_due_at", "open_token", "person_account", "refused",
    "release_leases", "revoke", "seal_token", "set_triggers", "status_counts",
    "store_poll", "store_refreshed", "wake",
]
