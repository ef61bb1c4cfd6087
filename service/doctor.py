"""`pulse doctor`: find and mend what earlier versions left in a store when they were killed half-way.

Before units of work were transactions, each statement committed on its own, so a killed `pulse process` could leave
items annotated but never placed in a stream (the next run skipped them: they never reached trends or briefings), a
killed import an item without its search row, and concurrent resends of one submission key observation items with no
submission. Each repair is idempotent: a sound store is left as it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from service.config import StreamSettings
from service.store import Store

BATCH = 256


@dataclass
class DoctorReport:
    """What was found (and, unless only checking, mended): counts per kind of damage."""

    unplaced: int = 0              # annotated items in no stream and out of the processing queue
    waiting: int = 0               # annotated items in the processing queue: the processing run places them
    missing_search_rows: int = 0   # items that search and watch terms could never find
    stray_search_rows: int = 0     # search rows whose item is gone
    orphan_observations: int = 0   # web-form observation items without their submission
    stream_sizes: int = 0          # streams whose recorded size disagrees with their items
    integrity: list[str] = field(default_factory=lambda: ["ok"])
    mended: bool = False

    @property
    def problems(self) -> int:
        return (self.unplaced + self.missing_search_rows + self.stray_search_rows + self.orphan_observations
                + self.stream_sizes)

    @property
    def sound(self) -> bool:
        return self.integrity == ["ok"] and (self.mended or self.problems == 0)

    def lines(self) -> list[str]:
        verb = "mended" if self.mended else "found"
        return [f"annotated but unplaced items: {self.unplaced} {verb}",
                f"annotated items waiting in the processing queue: {self.waiting} (placed by the next processing"
                " run; not a problem)",
                f"items missing their search row: {self.missing_search_rows} {verb}",
                f"search rows without an item: {self.stray_search_rows} {verb}",
                f"observation items without their submission: {self.orphan_observations} "
                + ("removed" if self.mended else "found"),
                f"streams with a wrong size: {self.stream_sizes} {verb}",
                "integrity check: " + "; ".join(self.integrity)]


def doctor(store: Store, check: bool = False, stream_settings: StreamSettings | None = None,
           integrity: bool = True) -> DoctorReport:
    """Count (with `check`) or mend every kind of damage; `integrity` also runs SQLite's full integrity check."""
    report = DoctorReport(integrity=store.integrity_check() if integrity else ["ok"], mended=not check)
    orphans = store.orphan_submission_items()
    report.orphan_observations = len(orphans)
    if not check and orphans:   # first, so a rejected resend is never placed or indexed below
        store.delete_items(orphans)
    missing = store.items_missing_search_rows()
    report.missing_search_rows = len(missing)
    if not check and missing:
        store.reindex_items(missing)
    stray = store.stray_search_rows()
    report.stray_search_rows = len(stray)
    if not check and stray:
        store.delete_search_rows(stray)
    report.waiting = store.count_annotated_unplaced(queued=True)   # never placed here: one placing writer
    if check:
        report.unplaced = store.count_annotated_unplaced()
    else:
        report.unplaced = place_unplaced(store, stream_settings)
    wrong = store.streams_with_wrong_size()
    report.stream_sizes = len(wrong)
    if not check and wrong:
        store.recount_streams(wrong)
    return report


def place_unplaced(store: Store, stream_settings: StreamSettings | None = None) -> int:
    """Place every annotated-but-unplaced item in its stream with its stored annotation, a batch per transaction."""
    from nlp.annotate import Annotation
    from service import streams   # word segmentation: loaded only when there is something to place

    placed = 0
    while True:
        rows = store.annotated_unplaced_items(limit=BATCH)
        if not rows:
            return placed
        pairs = [(row, Annotation(topic=row["topic"], topic_score=row["topic_score"], news_topic=row["news_topic"],
                                  sentiment=row["sentiment"], sentiment_score=row["sentiment_score"],
                                  toxicity=row["toxicity"], keyphrases=row["keyphrases"])) for row in rows]
        with store.transaction():
            streams.assign(store, pairs, stream_settings)
        if not all(store.is_placed(row["id"]) for row in rows):
            raise RuntimeError("items could not be placed in a stream")
        placed += len(rows)
