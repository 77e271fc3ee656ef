"""X (Twitter): everything this service knows about one network lives in this folder
(adapter, parse, oauth, sandbox, webhook; spec.py describes it to bots.registry)."""

NETWORK = "x"  # social_accounts.network, Activity.network
USER_KIND = "user"  # its identities: twitter:<user id>
