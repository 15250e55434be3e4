"""What an ingest run did: counts by outcome and the sources that failed, filled as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.types import Document


@dataclass
class IngestReport:
    """What an ingest run did."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not failures: links not read
    chunks_embedded: int = 0
    seconds: float = 0.0
    added: list[Document] = field(default_factory=list)  # the new documents written (alerts)
    alerts_sent: int = 0
    alerts_failed: list[str] = field(default_factory=list)  # warnings: the ingest still succeeded

    @property
    def wrote(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def summary(self) -> str:
        text = (f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
                f"{self.removed} removed, {len(self.failed)} failed; "
                f"{self.chunks_embedded} chunks embedded in {self.seconds:.1f} s")
        if self.alerts_sent or self.alerts_failed:
            text += f"; {self.alerts_sent} alert(s) sent, {len(self.alerts_failed)} not delivered"
        return text if self.wrote else text + " (nothing to write)"
