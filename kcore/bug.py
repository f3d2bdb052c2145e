"""`KcoreBug`: the one exception the core raises, for a broken invariant of its own.

Never for user input: bad input is answered (a `Status`, a `FieldError`), never raised.
Only the driver catches it (it records the crash and restarts the component). A leaf: it
imports nothing, so every layer may raise it.
"""


class KcoreBug(Exception):
    """A broken invariant of the core: never user input. Only the driver catches it."""
