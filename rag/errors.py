"""Domain errors: messages a user can act on. The CLI prints them as one line and exits 1."""


class RagError(Exception):
    """Base class for every error the user should see as a plain message, never a traceback."""


class InputError(RagError):
    """Bad user input: empty question, missing path, unreadable or unsupported file."""


class IndexStateError(RagError):
    """The on-disk index is missing, corrupt, or built with another model."""


class IndexFormatError(IndexStateError):
    """The index was written by an older version of this program; it can be rebuilt."""


class ModelError(RagError):
    """The embedding model cannot be loaded."""


class DiskFullError(RagError):
    """No space left while writing: nothing was half-written, the previous state is kept."""


class AccessError(RagError):
    """Not signed in, a wrong password, or a role or collection that does not allow the action."""
