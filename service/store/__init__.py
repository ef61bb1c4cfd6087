"""The store: schema, forward migrations and every SQL statement of Pulse, as repositories.

`Store` is one object with every repository's methods (items, streams, flags, reports, users, labels, jobs …),
all on one connection, so a unit of work that spans repositories is still one transaction. Nothing outside
this package writes SQL.
"""
from __future__ import annotations

from pathlib import Path

from service.store.alerts import AlertsRepository
from service.store import postgres
from service.store.base import StoreBase
from service.store.claims import ClaimsRepository
from service.store.common import StoredItem, content_hash, iso, item_hash, utcnow
from service.store.dashboard import DashboardRepository
from service.store.detection import DetectionRepository
from service.store.files import backup_database, inspect_database, restore_database
from service.store.flags import FlagsRepository
from service.store.items import ItemsRepository
from service.store.jobs import JobsRepository
from service.store.labels import LabelsRepository
from service.store.limits import LimitsRepository
from service.store.migrations import MIGRATIONS, sql_statements
from service.store.models import ModelsRepository
from service.store.repair import RepairRepository
from service.store.reports import ReportsRepository
from service.store.search import SearchRepository
from service.store.sources import SourcesRepository
from service.store.streams import StreamsRepository
from service.store.users import UsersRepository

__all__ = ["exists", "is_postgres", "Store", "StoredItem", "MIGRATIONS", "backup_database", "content_hash", "inspect_database",
           "item_hash", "iso", "restore_database", "sql_statements", "utcnow"]


class Store(StoreBase, UsersRepository, SourcesRepository, ItemsRepository, SearchRepository, StreamsRepository, DetectionRepository, FlagsRepository, ReportsRepository, RepairRepository, LabelsRepository, JobsRepository, AlertsRepository, DashboardRepository, ClaimsRepository, LimitsRepository, ModelsRepository):
    """All reads and writes of Pulse's data."""


def is_postgres(location: str | Path) -> bool:
    """Whether a store location (a file path, or a PostgreSQL URL) is held by PostgreSQL."""
    return postgres.postgres_location(location) is not None


def exists(location: str | Path) -> bool:
    """Whether a store is at `location`: the SQLite file exists, or the PostgreSQL database has Pulse's schema."""
    if not is_postgres(location):
        return Path(location).exists()
    with Store(location) as store:
        return store.schema_version() > 0
