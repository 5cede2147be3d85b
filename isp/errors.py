"""The one exception type for problems a user can cause (bad files, bad arguments)."""


class InputError(Exception):
    """Bad input: the message names the file or key and says what is wrong, in one line."""
