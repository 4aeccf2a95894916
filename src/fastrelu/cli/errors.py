"""How a command fails: one-line errors for the user, and the exit codes."""

EXIT_ERROR = 2  # bad arguments, bad files, anything that stopped the command
EXIT_DISAGREE = 1  # bench: a backend disagrees with the numpy reference


class CommandError(Exception):
    """A one-line error for the user; ``main`` prints it and exits with ``EXIT_ERROR``."""
