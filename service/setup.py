"""Creating or upgrading an installation: schema, default org units, default sources, first admin."""
from __future__ import annotations

from dataclasses import dataclass

from collectors.sources import DEFAULT_SOURCES
from service.auth import hash_password, new_password
from service.config import StreamSettings
from service.doctor import DoctorReport, doctor
from service.store import Store

# Cao Bằng's union tree to start from; admins edit it in the web app.
DEFAULT_UNITS = [
    ("caobang", "Liên đoàn Lao động tỉnh Cao Bằng", None, "province"),
    ("cb-giaoduc", "Công đoàn ngành Giáo dục tỉnh", "caobang", "sector"),
    ("cb-yte", "Công đoàn ngành Y tế tỉnh", "caobang", "sector"),
    ("cb-vienchuc", "Công đoàn Viên chức tỉnh", "caobang", "sector"),
    ("cb-thanhpho", "Liên đoàn Lao động thành phố Cao Bằng", "caobang", "district"),
]


# Terms the board watches from day one (matched without regard to diacritics); admins add and remove them.
DEFAULT_WATCH_TERMS = [
    "đình công", "ngừng việc tập thể", "ngừng việc", "nợ lương", "chậm trả lương", "rút BHXH một lần",
    "rút bảo hiểm xã hội một lần", "nợ đóng BHXH", "trốn đóng bảo hiểm", "sa thải", "cắt giảm lao động",
    "tai nạn lao động", "ngộ độc thực phẩm",
]


@dataclass
class InitOutcome:
    schema_version: int
    admin_password: str | None
    units: int
    sources: int
    repairs: DoctorReport | None = None   # what `pulse doctor` mended, if anything was left by an earlier version


def init(store: Store, admin_username: str = "admin", stream_settings: StreamSettings | None = None) -> InitOutcome:
    """Create or upgrade the store and mend what earlier versions left (see service/doctor.py); on a new store also
    create the first admin and return its password once."""
    version = store.migrate()
    index_old_items(store)
    repairs = doctor(store, stream_settings=stream_settings, integrity=False)
    for code, name, parent, level in DEFAULT_UNITS:
        store.add_org_unit(code, name, parent, level)
    for src in DEFAULT_SOURCES:
        store.upsert_source(src.name, src.kind, src.url, title=src.title, verified=src.verified,
                            config={"full_text": src.full_text, "selectors": src.selectors}, enabled=src.enabled)
    password = None
    if store.count_users() == 0:
        for term in DEFAULT_WATCH_TERMS:
            store.add_watch_term(term, created_by="init")
        password = new_password()
        store.add_user(admin_username, hash_password(password), "admin", DEFAULT_UNITS[0][0])
    return InitOutcome(version, password, len(store.org_units()), len(store.sources()), repairs)


def index_old_items(store: Store, requested_by: str = "init") -> dict | None:
    """Index for search the items stored before items_search existed, as a `search_backfill` job (with its progress,
    resumable); None when there are none."""
    if not store.count_search_backfill():
        return None
    from service import jobs

    job, _ = jobs.run_kind(store, None, "search_backfill", {}, requested_by)
    return job
