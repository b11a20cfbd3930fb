"""The error every model-file reader of core raises, in one place so that the readers of
core's own files and of the ecosystem's directories can share it without importing each
other."""


class ModelFileError(RuntimeError):
    """A model file or directory is missing, not a model this project can read, of another
    version, or does not match (the message names the path and what is wrong)."""
