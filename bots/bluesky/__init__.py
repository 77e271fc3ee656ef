"""Bluesky (the AT Protocol): everything this service knows about one network lives in this
folder (parse, adapter, the Jetstream consumer, linking, sandbox; spec.py describes it to
bots.registry)."""

NETWORK = "bluesky"  # social_accounts.network, Activity.network
USER_KIND = "user"  # bluesky:<did>, an account (did:plc:... or did:web:...)

LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
POST = "app.bsky.feed.post"
# The collections whose records may flattr, and the activity action each one is.
ACTIONS = {LIKE: "like", REPOST: "repost", POST: "explicit"}
WATCHED = (LIKE, REPOST, POST)
