"""Facebook: everything this service knows about one network lives in this folder
(adapter, parse, oauth, sandbox, webhook; spec.py describes it to bots.registry)."""

NETWORK = "facebook"  # social_accounts.network, Activity.network
USER_KIND = "user"  # facebook:user:<id>, a person (a linked account)
PAGE_KIND = "page"  # facebook:page:<id>, a Page (what a Page like flattrs)
