"""Errors a user can cause: each carries a clear one-line message."""


class UserError(Exception):
    """Bad input or a refused request; nothing was written.

    `message` is English, with `%(name)s` placeholders filled from `params`: `str(error)` is
    the English sentence (the CLI's), and the web app shows `message` translated (it is the
    catalogue's message id) with the same `params`."""

    def __init__(self, message: str, /, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


class UnknownPerson(UserError):
    pass


class UnknownThing(UserError):
    pass


class BudgetTooLow(UserError):
    pass


class AlreadyClaimed(UserError):
    pass


class PeriodNotOver(UserError):
    pass


class UnknownPeriod(UserError):
    pass
