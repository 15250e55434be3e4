"""The error vocabulary: a BotError's message is safe to show a user and says what to do next."""


class BotError(Exception):
    """An expected failure whose message may be shown to a user as is."""


class ConfigError(BotError):
    """A setting is missing or wrong."""


class EmptyIndexError(BotError):
    """The index holds no documents yet."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "The index is empty: run `vendorban ingest corpus/` "
                       "to add the sample corpus."
        )


class ModelMismatchError(BotError):
    """The collection was built with another embedding model."""


class IndexUnavailableError(BotError):
    """The index (e.g. a Chroma server) cannot be reached right now."""


class IndexReplacedError(IndexUnavailableError):
    """The collection this process had open was replaced (`vendorban reindex` elsewhere)."""

    def __init__(self) -> None:
        super().__init__("The index was rebuilt since this process opened it; try again.")


class InputError(BotError):
    """The user's input cannot be used (too long, empty, malformed)."""


class IngestError(BotError):
    """One source could not be ingested; the message names it and the problem."""


class IndexChangedError(IndexReplacedError):
    """Another process wrote to the embedded index and this process's view of it was stale."""

    def __init__(self) -> None:
        IndexUnavailableError.__init__(
            self, "The index was just updated by another process; try again.")
