"""E-mail: messages rendered from templates (plain text plus simple HTML, absolute links, a
one-click unsubscribe) and sent over SMTP to PLANNER_SMTP_URL with the standard library.

smtplib is enough here: planner sends a handful of messages per change to one relay, and the
worker already gives retries and a record of every attempt.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer

from planner.models import Account, Notification, Project
from planner.timeutil import utcnow


class MailSettingsError(ValueError):
    """PLANNER_SMTP_URL cannot be used; the message says why."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool  # smtps:// (TLS from the first byte); smtp:// upgrades with STARTTLS when offered
    user: str | None
    password: str | None


def smtp_settings(url: str | None) -> SmtpSettings | None:
    """Read `smtp://user:password@host:port` or `smtps://…`; None when no URL is set."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise MailSettingsError(
            "PLANNER_SMTP_URL starts with smtp:// or smtps://, like smtp://user:password@host:587."
        )
    if not parts.hostname:
        raise MailSettingsError("PLANNER_SMTP_URL names no host, like smtp://mail.example.com:25.")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise MailSettingsError("The port in PLANNER_SMTP_URL is not a number.") from None
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "smtps",
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def mail_enabled() -> bool:
    return smtp_settings(current_app.config.get("SMTP_URL")) is not None


def base_url() -> str:
    return (current_app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


# --- unsubscribe -------------------------------------------------------------------------------


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="planner.unsubscribe")


def unsubscribe_token(account_id: int, kinds: list[str]) -> str:
    return _signer().dumps([account_id, sorted(set(kinds))])


def read_unsubscribe_token(token: str) -> tuple[int, list[str]] | None:
    try:
        account_id, kinds = _signer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(account_id, int) or not isinstance(kinds, list):
        return None
    return account_id, [str(k) for k in kinds]


def unsubscribe_url(account_id: int, kinds: list[str]) -> str:
    return f"{base_url()}/unsubscribe/{unsubscribe_token(account_id, kinds)}"


# --- messages ----------------------------------------------------------------------------------


def notification_mail(account: Account, project: Project, note: Notification) -> dict:
    """The e-mail for one notification, as a delivery stores it."""
    context = {
        "account": account,
        "project": project,
        "note": note,
        "link": base_url() + note.link,
        "settings_link": base_url() + "/account/email",
        "unsubscribe": unsubscribe_url(account.id, [note.kind]),
    }
    return {
        "to": account.email,
        "subject": f"[{project.key}] {note.text}",
        "text": render_template("mail/notification.txt", **context),
        "html": render_template("mail/notification.html", **context),
        "unsubscribe": context["unsubscribe"],
    }


def digest_mail(account: Account, project: Project, period: str, notes: list[Notification]) -> dict:
    """One digest (daily or weekly) of a project's notifications for one person."""
    context = {
        "account": account,
        "project": project,
        "period": period,
        "groups": _grouped(notes),
        "base": base_url(),
        "settings_link": base_url() + "/account/email",
        "unsubscribe": unsubscribe_url(account.id, sorted({n.kind for n in notes})),
    }
    title = "Daily" if period == "daily" else "Weekly"
    return {
        "to": account.email,
        "subject": f"[{project.key}] {title} digest: {len(notes)} update"
        + ("s" if len(notes) != 1 else ""),
        "text": render_template("mail/digest.txt", **context),
        "html": render_template("mail/digest.html", **context),
        "unsubscribe": context["unsubscribe"],
    }


DIGEST_SECTIONS = (
    ("milestone", "Milestones"),
    ("risk", "Risks"),
    ("sprint", "Sprints"),
    ("assigned", "Assigned to you"),
    ("mentioned", "Mentions"),
    ("commented", "Comments"),
    ("updated", "Changes to stories you watch"),
    ("webhook", "Webhooks"),
)


def _grouped(notes: list[Notification]) -> list[tuple[str, list[Notification]]]:
    return [
        (title, [n for n in notes if n.kind == kind])
        for kind, title in DIGEST_SECTIONS
        if any(n.kind == kind for n in notes)
    ]


# --- sending -----------------------------------------------------------------------------------


def build_message(message: dict, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message["to"]
    mail["Subject"] = message["subject"]
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["List-Unsubscribe"] = f"<{message['unsubscribe']}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message["text"])
    mail.add_alternative(message["html"], subtype="html")
    return mail


def send(settings: SmtpSettings, sender: str, message: dict, *, timeout: float) -> None:
    """Hand one message to the SMTP server; raises OSError or smtplib.SMTPException on failure."""
    mail = build_message(message, sender)
    context = ssl.create_default_context()
    if settings.tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    with client:
        client.ehlo()
        if not settings.tls and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if settings.user:
            client.login(settings.user, settings.password or "")
        client.send_message(mail)
