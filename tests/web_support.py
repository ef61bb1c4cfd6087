"""Helpers of the web tests: an installation with one user per role, logging in, reading CSRF fields, and the real
app served by uvicorn on 127.0.0.1 in a thread."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from collectors.items import RawItem
from service.auth import hash_password
from service.config import Settings
from service.setup import init
from service.store import Store

PASSWORD = "mat-khau-thu-nghiem"
OWN, OTHER = "cb-yte", "cb-giaoduc"
ROLES = ("admin", "staff", "analyst", "collaborator")
ROLE_USER = {"admin": "admin1", "staff": "staff1", "analyst": "analyst1", "collaborator": "collab1"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_KEY = re.compile(r'name="idempotency_key" value="([^"]*)"')


@dataclass
class Installation:
    settings: Settings
    store: Store
    admin_password: str
    users: dict[str, int] = field(default_factory=dict)    # username → id


def make_installation(tmp_path: Path, users: dict[str, tuple[str, str]] | None = None) -> Installation:
    """A fresh store as `pulse init` leaves it, plus users (name → (role, unit)) with the password PASSWORD.

    By default: one user of each role in the unit OWN (ROLE_USER), a collaborator and a staff member in the unit
    OTHER, and `root`, an admin of the province (`admin`, made by init, keeps its printed password).
    """
    db = tmp_path / "pulse.db"
    store = Store(db)
    outcome = init(store)
    if users is None:
        users = {ROLE_USER[role]: (role, OWN) for role in ROLES}
        users.update({"collab2": ("collaborator", OTHER), "staff2": ("staff", OTHER),
                      "root": ("admin", "caobang")})
    # the "shipped" models folder is a copy (model files linked, not copied); pages that train, promote or edit the
    # taxonomy write into the data folder (tmp_path/models, tmp_path/taxonomy.toml), never into either
    inst = Installation(Settings(db_path=db, models_dir=models_copy(tmp_path / "shipped-models")), store,
                        outcome.admin_password or "")
    hashed = hash_password(PASSWORD)   # one argon2 hash for all: hashing is slow on purpose
    for name, (role, unit) in users.items():
        inst.users[name] = store.add_user(name, hashed, role, unit)
    return inst


def models_copy(target: Path) -> Path:
    """A private copy of the models folder; the large model.skops files are symbolic links to the shipped ones."""
    import shutil

    source = Path(Settings().models_dir)
    if not source.exists():
        target.mkdir(parents=True, exist_ok=True)
        return target
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.skops"))
    for model in source.glob("*/*/model.skops"):
        (target / model.relative_to(source)).symlink_to(model.resolve())
    return target


def observation(text: str, unit: str, author: str = "", day: datetime | None = None) -> RawItem:
    return RawItem(text=text, source="Cộng tác viên", kind="observation", org_unit=unit, channel="truc-tiep",
                   author=author, published_at=day or datetime.now(timezone.utc),
                   extra={"place": "", "observed_on": "", "people": 1})


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def key_of(html: str) -> str:
    found = _KEY.search(html)
    assert found, "the page has no idempotency key"
    return found.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log a TestClient or requests.Session in through the login form; returns the final response."""
    base = getattr(client, "base_url_str", "")
    page = client.get(f"{base}/login")
    return client.post(f"{base}/login", data={"username": username, "password": password,
                                              "csrf_token": csrf_of(page.text)})


class LiveServer:
    """The real app behind a real uvicorn server on 127.0.0.1 (a thread of this process)."""

    def __init__(self, app, port: int):
        import uvicorn

        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    lifespan="on", timeout_keep_alive=30))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


MODELS = Path(Settings().models_dir)   # classifier_models/, or $PULSE_MODELS as the app itself reads it


def models_ready() -> bool:
    """The shipped models are in place (they are trained into classifier_models/ and committed)."""
    try:
        from service.registry import active_versions

        versions = active_versions(MODELS)
    except Exception:
        return False
    return all((MODELS / task / version / "model.skops").exists() for task, version in versions.items())


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout} s")
