"""Errors a user can cause: each carries a clear one-line message."""


class UserError(Exception):
    """Bad input or a refused request; nothing was written."""


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
