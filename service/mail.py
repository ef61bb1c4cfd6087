"""Sending the alerts' e-mails (issue 16.3) through the configured SMTP server with the standard library.

The outbox is a table (service/store/): an e-mail is taken under a lease (two senders never send one twice), marked
sent only once the server accepted it, and on failure kept with its error and tried again later (1, 2, 4 … 60 minutes
apart) until `[alerts] max_attempts`, after which it is shown as failed to the admin («/admin/alerts»), who may send
it again. Subjects and bodies are UTF-8 (RFC 2047 / 8-bit MIME): Vietnamese arrives with every diacritic.
"""
from __future__ import annotations

import logging
import smtplib
import ssl as ssl_module
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

from service.config import Settings
from service.store import Store, iso

log = logging.getLogger("pulse.mail")
BATCH = 100
LEASE_MINUTES = 10


class MailFailed(Exception):
    """Some e-mails could not be sent (they wait for their next attempt); the message says why."""


def message(settings: Settings, row: dict) -> MIMEText:
    """The e-mail of one outbox row: its notification's subject and body, with the link to the page.

    Built the compat32 way (MIMEText + Header): the newer EmailMessage folds a long Vietnamese subject into encoded
    words with the spaces between them, which readers drop («82,4:Luồng»; CPython's folder, measured)."""
    base = settings.alerts.base_url.rstrip("/")
    body = row["body"].rstrip()
    if row.get("link"):
        body += f"\n\nXem trên Pulse: {base}{row['link']}"
    body += f"\n\n--\nPulse, Ban Tuyên giáo. Chọn loại thông báo nhận qua thư tại {base}/alerts"
    msg = MIMEText(body, "plain", "utf-8")
    msg["Subject"] = Header(row["subject"], "utf-8")
    msg["From"] = settings.smtp.sender
    msg["To"] = row["address"]
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=f"pulse-{row['notification_id']}")
    return msg


def _connect(settings: Settings) -> smtplib.SMTP:
    cfg = settings.smtp
    if cfg.ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds,
                                                context=ssl_module.create_default_context())
    else:
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        if cfg.starttls:
            client.starttls(context=ssl_module.create_default_context())
    if cfg.username:
        client.login(cfg.username, cfg.password)
    return client


def backoff(attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: 1, 2, 4 … minutes, never more than an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def send_due(store: Store, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Send every e-mail that is due; returns counts. Raises MailFailed after recording every failure, so the job
    that ran it is shown failed with the reason while the e-mails wait for their next attempt."""
    if not settings.smtp.host:
        return {"sent": 0, "failed": 0}
    now = now or datetime.now(timezone.utc)
    rows = store.claim_outbox(iso(now), iso(now + timedelta(minutes=LEASE_MINUTES)), BATCH)
    sent = failed = 0
    errors: list[str] = []
    client: smtplib.SMTP | None = None
    try:
        for row in rows:
            try:
                if client is None:
                    client = _connect(settings)
                client.send_message(message(settings, row))
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                attempts = row["attempts"] + 1
                give_up = attempts >= settings.alerts.max_attempts
                store.outbox_failed(row["id"], error, iso(now + backoff(attempts)), give_up)
                failed += 1
                errors.append(f"{row['address']}: {error}")
                log.warning("e-mail %s to %s failed (attempt %d): %s", row["id"], row["address"], attempts, error)
                if not isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                                        smtplib.SMTPSenderRefused)):
                    _close(client)   # the connection is in doubt: the next e-mail opens a new one
                    client = None
                continue
            store.outbox_sent(row["id"], iso(datetime.now(timezone.utc)))
            sent += 1
    finally:
        _close(client)
    if failed:
        raise MailFailed(f"{failed} of {len(rows)} e-mails not sent; " + "; ".join(errors[:5]))
    return {"sent": sent, "failed": failed}


def _close(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
