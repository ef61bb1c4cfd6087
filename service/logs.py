"""One logging set-up for every entry point (the `pulse` command, `pulse serve`, the intake worker, the scheduler).

Lines read `time level logger: message` by default, or one JSON object a line with `--log-format json`; they go to a
rotating file under the data folder (data/logs/pulse.log) and, from WARNING up (INFO up for `pulse serve`), to stderr.
`step(...)` logs the start, the end (with its counts and duration) or the failure of a piece of work.
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

FORMATS = ("text", "json")
LOG_FILE = "pulse.log"
MAX_BYTES = 10_000_000     # a log file is rotated at this size …
BACKUPS = 5                # … and this many old ones are kept
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_pulse_handler"   # our handlers, so that a second set-up replaces them instead of adding more


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC ISO 8601), level, logger, message, the step's fields, the error's trace."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "process": record.process}
        fields = getattr(record, "pulse", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):
    """stderr as it is when a line is written (a test runner may swap sys.stderr after the set-up)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def log_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "logs"


def setup_logging(data_dir: Path | None, log_format: str = "text", level: str = "INFO", console_level: str = "WARNING",
                  file_name: str = LOG_FILE) -> Path | None:
    """Configure the root logger once for this process; returns the log file (None when it cannot be written).

    Calling it again (another command in the same process, a test) replaces the handlers it installed before."""
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r} (use {' or '.join(FORMATS)})")
    formatter: logging.Formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    console = _Stderr()
    console.setLevel(console_level.upper())
    handlers: list[logging.Handler] = [console]
    path = None
    if data_dir is not None:
        try:
            folder = log_dir(data_dir)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / file_name
            file = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                        encoding="utf-8", delay=True)
            file.setLevel(level.upper())
            handlers.append(file)
        except OSError as exc:   # a read-only data folder: the logs still reach stderr
            path = None
            print(f"Warning: logs cannot be written under {data_dir} ({exc}); they go to stderr only.",
                  file=sys.stderr)
    for handler in handlers:
        handler.setFormatter(formatter)
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(min(logging.getLevelName(level.upper()), logging.getLevelName(console_level.upper())))
    return path


def configure(settings, console_level: str = "WARNING", file_name: str = LOG_FILE) -> Path | None:
    """setup_logging from a Settings: its data folder, `log_format` and `log_level`."""
    from service.datadir import data_dir

    return setup_logging(data_dir(settings), settings.log_format, settings.log_level, console_level, file_name)


def _describe(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in fields.items() if not isinstance(v, (list, dict)))


@contextmanager
def step(logger: logging.Logger, what: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Log the start of a piece of work, then its end with the counts put in the yielded dict and its duration, or
    its failure with the error (the exception goes on)."""
    counts: dict[str, Any] = {}
    about = f" ({_describe(fields)})" if fields else ""
    logger.info("%s started%s", what, about, extra={"pulse": {"step": what, "event": "start", **fields}})
    t0 = time.monotonic()
    try:
        yield counts
    except Exception as exc:
        seconds = round(time.monotonic() - t0, 3)
        logger.exception("%s failed after %.1f s%s: %s", what, seconds, about, exc,
                         extra={"pulse": {"step": what, "event": "error", "seconds": seconds, **fields, **counts}})
        raise
    seconds = round(time.monotonic() - t0, 3)
    done = _describe(counts)
    logger.info("%s done in %.1f s%s%s", what, seconds, about, f": {done}" if done else "",
                extra={"pulse": {"step": what, "event": "end", "seconds": seconds, **fields, **counts}})
