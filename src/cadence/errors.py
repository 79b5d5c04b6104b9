"""User-facing errors.

Anything a user can cause (a bad path, a bad parameter, a bad file) raises
:class:`CadenceError`. The CLI prints its message as one line and exits 2;
library users catch it like any other exception. Bugs raise anything else.
"""


class CadenceError(ValueError):
    """A problem with the user's input, reported as one clear line."""
