"""The one exception the data layer raises: a message a user can act on."""


class DataError(Exception):
    """A dataset is missing, truncated, corrupt or not in the expected format.

    The message names the file and what to do about it; callers print it as is.
    """
