"""Emails: build a MIME message, and deliver it by SMTP or write it to the outbox folder.

Header injection: messages use ``email.policy.SMTP``, which refuses CR/LF in any header value,
and addresses go through ``email.headerregistry.Address``, which refuses anything that is not
one address. Text meant for a header is also flattened to one line first (``one_line``).
The SMTP password lives only in ``MailSettings`` (kept out of its repr) and in the login call, and
it only crosses an encrypted connection: with security ``none`` a login is refused unless the server
is this machine (loopback), and the alerts wait with the reason instead.
Default ports: 25 without encryption, 587 for STARTTLS, 465 for implicit TLS (ssl).
"""

from __future__ import annotations

import ipaddress
import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.errors import HeaderDefect, HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
DEFAULT_SENDER = "planwatch@localhost"
SMTP_TIMEOUT_SECONDS = 30
LOOPBACK_NAMES = ("localhost", "localhost.")
CLEARTEXT_LOGIN_REFUSED = ("refusing to send the SMTP password without TLS: "
                           "set PLANWATCH_SMTP_SECURITY=starttls or ssl")

_CONTROL_RUNS = re.compile(r"[\s\x00-\x1f\x7f\u2028\u2029\x85]+")


def one_line(text: str) -> str:
    """Text safe for a header: every run of whitespace or control characters becomes one space."""
    return _CONTROL_RUNS.sub(" ", text or "").strip()


def parse_address(addr_spec: str, display_name: str | None = None) -> Address:
    """One mailbox, or ValueError saying why not (two addresses, CR/LF, no domain, bad syntax)."""
    try:
        address = Address(display_name=one_line(display_name or ""), addr_spec=(addr_spec or "").strip())
    except (ValueError, HeaderParseError, HeaderDefect) as exc:
        raise ValueError(f"not one valid e-mail address: {addr_spec!r} ({exc})") from None
    if not address.username or not address.domain:
        raise ValueError(f"not one valid e-mail address: {addr_spec!r} (needs name@domain)")
    return address


def address_problem(addr_spec: str | None) -> str | None:
    """Why ``addr_spec`` cannot be used as a recipient, or None when it can."""
    try:
        parse_address(addr_spec or "")
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class MailSettings:
    """How mail goes out. No host: .eml files in the outbox folder instead of SMTP.

    Built from whatever the operator set; ``problem()`` says what is wrong with it, so a bad
    setting keeps the alerts pending (with the reason) instead of failing the run."""

    host: str | None = None
    port: str | None = None
    security: str = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    mail_from: str = DEFAULT_SENDER

    @classmethod
    def from_values(cls, host: str | None, port: str | int | None, security: str | None, user: str | None,
                    password: str | None, mail_from: str | None) -> MailSettings:
        """Settings from the raw strings of the PLANWATCH_SMTP_* variables ('' = unset)."""
        return cls(host=(host or "").strip() or None, port=str(port).strip() if port else None,
                   security=(security or "none").strip().lower(), user=user or None, password=password or None,
                   mail_from=(mail_from or "").strip() or DEFAULT_SENDER)

    def problem(self) -> str | None:
        if self.security not in SECURITY_MODES:
            return f"PLANWATCH_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}"
        if self.port and not (self.port.isdigit() and 0 < int(self.port) < 65536):
            return f"PLANWATCH_SMTP_PORT must be a port number, not {self.port!r}"
        if problem := address_problem(self.mail_from):
            return f"PLANWATCH_MAIL_FROM: {problem}"
        if self.uses_smtp and self.user and self.security == "none" and not is_loopback(self.host):
            return CLEARTEXT_LOGIN_REFUSED
        return None

    @property
    def uses_smtp(self) -> bool:
        return bool(self.host)

    @property
    def effective_port(self) -> int:
        return int(self.port) if self.port else DEFAULT_PORTS[self.security]

    def describe(self) -> str:
        """Where mail goes, for logs and metadata (never the password)."""
        if problem := self.problem():
            return f"not configured: {problem}"
        if not self.uses_smtp:
            return "outbox (.eml files; no SMTP host configured)"
        login = f" as {self.user}" if self.user else ""
        return f"smtp://{self.host}:{self.effective_port} ({self.security}){login}"


def is_loopback(host: str | None) -> bool:
    """True for this machine: localhost, 127.0.0.0/8, ::1 (names are not resolved: a name that
    merely points at 127.0.0.1 today is no promise about tomorrow)."""
    name = (host or "").strip().lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Attachment:
    """A file carried by an email: its name as the recipient sees it, its bytes and MIME type."""

    filename: str
    content: bytes
    maintype: str
    subtype: str


@dataclass(frozen=True)
class Delivery:
    """What happened to one message: ``state`` is sent, pending (transient error: retry) or
    failed (the server refused it outright; still retried, but someone should look)."""

    key: str
    state: str
    via: str  # smtp / outbox
    message_id: str
    error: str | None = None
    outbox_file: str | None = None


def compose(*, key: str, sender: Address, recipient: Address, subject: str, text: str, html: str,
            when: datetime, attachments: tuple[Attachment, ...] = ()) -> EmailMessage:
    """A multipart/alternative message (plain text + HTML), multipart/mixed with the attachments,
    whose Message-ID follows from ``key``, so composing the same alerts again yields the same id
    (and the same outbox file)."""
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = one_line(subject)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(when.astimezone())
    message["Message-ID"] = f"<planwatch.{key}@{sender.domain}>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        message.add_attachment(attachment.content, maintype=attachment.maintype, subtype=attachment.subtype,
                               filename=attachment.filename)
    return message


def deliver(messages: dict[str, EmailMessage], settings: MailSettings, outbox_dir: Path) -> list[Delivery]:
    """Send every message (key -> message); one message failing does not stop the others."""
    if not messages:
        return []
    if problem := settings.problem():  # e.g. a login without TLS: nothing is sent, nothing is lost
        return [Delivery(key, "pending", "smtp" if settings.uses_smtp else "outbox", m["Message-ID"], problem)
                for key, m in messages.items()]
    if not settings.uses_smtp:
        return [_write_outbox(key, message, outbox_dir) for key, message in messages.items()]
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        state, error = _state_after(exc), _describe_error(exc, settings)
        return [Delivery(key, state, "smtp", m["Message-ID"], error) for key, m in messages.items()]
    results = []
    with smtp:
        for key, message in messages.items():
            try:
                smtp.send_message(message)
                results.append(Delivery(key, "sent", "smtp", message["Message-ID"]))
            except (OSError, smtplib.SMTPException) as exc:
                results.append(Delivery(key, _state_after(exc), "smtp", message["Message-ID"],
                                        _describe_error(exc, settings)))
    return results


def _connect(settings: MailSettings) -> smtplib.SMTP:
    port = settings.effective_port
    if settings.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, port, timeout=SMTP_TIMEOUT_SECONDS,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _state_after(exc: Exception) -> str:
    # 5xx: the server refused this message or recipient for good; 4xx and dropped connections pass.
    code = getattr(exc, "smtp_code", None)
    refused = getattr(exc, "recipients", None)
    if refused:
        code = max(c for c, _ in refused.values())
    return "failed" if isinstance(code, int) and code >= 500 else "pending"


def _describe_error(exc: Exception, settings: MailSettings) -> str:
    text = f"{type(exc).__name__}: {exc} ({settings.describe()})"
    if settings.password:
        text = text.replace(settings.password, "***")  # a server echoing credentials must not leak them
    return one_line(text)[:500]


def _write_outbox(key: str, message: EmailMessage, outbox_dir: Path) -> Delivery:
    """Write ``<key>.eml`` atomically; the same key overwrites the same file, never a second one."""
    outbox_dir.mkdir(parents=True, exist_ok=True)
    target = outbox_dir / f"{key}.eml"
    partial = outbox_dir / f".{key}.eml.partial"
    partial.write_bytes(message.as_bytes())
    os.replace(partial, target)
    return Delivery(key, "sent", "outbox", message["Message-ID"], outbox_file=str(target))
