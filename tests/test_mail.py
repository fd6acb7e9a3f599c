"""Mail settings and delivery: the SMTP password never crosses the network in clear text, the
default ports, and attachments that survive the trip (outbox .eml files)."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from test_alerting import Scenario

from pipelines.lib.mail import (
    CLEARTEXT_LOGIN_REFUSED,
    Attachment,
    MailSettings,
    compose,
    deliver,
    is_loopback,
    parse_address,
)

SECRET = "pw-4c1f-never-in-clear"


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.45.6.7", "::1", "[::1]"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["mail.planwatch.example", "10.0.0.25", "128.0.0.1", "::2", "localhost.example",
                                  "127.0.0.1.example", "", None])
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback(host)


@pytest.mark.parametrize(("security", "port"), [("none", 25), ("starttls", 587), ("ssl", 465)])
def test_default_port_follows_the_security_mode(security, port):
    settings = MailSettings.from_values("mail.planwatch.example", "", security, None, None, None)
    assert settings.effective_port == port
    assert MailSettings.from_values("mail.planwatch.example", "2525", security, None, None, None).effective_port == 2525


def remote(security: str, user: str | None = "planwatch-bot") -> MailSettings:
    # .example never resolves: had the client tried to connect, the error would be a DNS one.
    return MailSettings.from_values("smtp.planwatch.example", "", security, user, SECRET, "planwatch@planwatch.example")


def test_login_without_tls_is_refused_unless_the_server_is_this_machine():
    assert remote("none").problem() == CLEARTEXT_LOGIN_REFUSED
    assert remote("starttls").problem() is None and remote("ssl").problem() is None
    assert remote("none", user=None).problem() is None  # no login, no password on the wire
    local = MailSettings.from_values("127.0.0.1", "2525", "none", "planwatch-bot", SECRET, None)
    assert local.problem() is None
    assert SECRET not in remote("none").describe() and CLEARTEXT_LOGIN_REFUSED in remote("none").describe()


def test_refused_login_keeps_the_alerts_pending_with_the_reason(tmp_path):
    scenario = Scenario(tmp_path)
    counts = scenario.run("run1", {"sd_gdp": "off_track", "zjg_gdp": "off_track"}, remote("none"))
    assert counts["emails"] == 0 and counts["pending"] == 2 and CLEARTEXT_LOGIN_REFUSED in counts["delivery"]
    alerts = scenario.alerts()
    assert set(alerts["state"]) == {"pending"}
    assert set(alerts["last_error"]) == {f"not sent: {CLEARTEXT_LOGIN_REFUSED}"}
    assert SECRET not in str(counts) and SECRET not in str(alerts.rows())


def message(**extra) -> EmailMessage:
    sender = parse_address("planwatch@planwatch.example")
    return compose(key="k1", sender=sender, recipient=parse_address("zjg@planwatch.example"), subject="主题",
                   text="正文", html="<p>正文</p>", when=datetime(2026, 3, 2, 2, 0), **extra)


def test_deliver_itself_refuses_a_cleartext_login(tmp_path):
    [delivery] = deliver({"k1": message()}, remote("none"), tmp_path / "outbox")
    assert (delivery.state, delivery.error) == ("pending", CLEARTEXT_LOGIN_REFUSED)
    assert not (tmp_path / "outbox").exists()


def test_attachments_reach_the_outbox_file_byte_for_byte(tmp_path):
    content = bytes(range(256)) * 4
    sheet = Attachment("张家港市指标完成情况表_320582.xlsx", content, "application",
                       "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    [delivery] = deliver({"k1": message(attachments=(sheet,))}, MailSettings(), tmp_path / "outbox")
    saved = message_from_bytes((tmp_path / "outbox" / "k1.eml").read_bytes(), policy=policy.default)
    assert delivery.state == "sent" and saved.get_content_type() == "multipart/mixed"
    assert saved.get_body(("plain",)).get_content().strip() == "正文"
    [part] = saved.iter_attachments()
    assert (part.get_filename(), part.get_content_type(), part.get_content()) == (
        sheet.filename, f"{sheet.maintype}/{sheet.subtype}", content)
