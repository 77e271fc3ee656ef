"""Marking words shown to people, where they are defined, for the message catalogues
(runtime/locales): `N_("...")` is the text itself; the page or the message that shows it
translates it (web/i18n.py, runtime/i18n.py). Core and bots cannot import those."""


def N_(message: str) -> str:  # noqa: N802 (gettext's usual name for the marker)
    return message
