"""The delivery worker (`planner worker`): outbox rows in, notifications, e-mails and webhook calls
out, nothing lost and nothing sent twice.

One pass (`run_once`, what `--once` and cron run):

1. Dispatch: take pending outbox rows and fan each out (planner.delivery.fanout) in one
   transaction with its "dispatched" mark.
2. Digests: gather the daily and weekly digest lines that are due into one e-mail each.
3. Deliver: claim due deliveries by setting a lease (claimed_by, lease_until) and committing,
   then send each and record the attempt. A worker that dies after claiming leaves the lease;
   once it expires another worker retries, with the same delivery id.
4. Purge delivered rows older than the retention.

On PostgreSQL every claim is SELECT … FOR UPDATE SKIP LOCKED, so any number of workers on any
number of hosts share the work without taking the same row. SQLite has no row locks: run one
worker (or the thread `planner quickstart` starts).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session, selectinload

from planner import db
from planner.delivery import fanout, mail, webhooks
from planner.models import (
    Account,
    Delivery,
    DeliveryAttempt,
    Membership,
    Notification,
    OutboxEvent,
    Project,
    Webhook,
)
from planner.timeutil import utcnow

BATCH = 50
MAX_WAIT = 86400.0  # no retry waits longer than a day
DIGEST_PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@dataclass
class PassReport:
    dispatched: int = 0
    notified: int = 0
    digests: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    purged: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"dispatched {self.dispatched} events ({self.notified} notifications), "
            f"{self.digests} digests, delivered {self.delivered}, retrying {self.retried}, "
            f"failed {self.failed}, purged {self.purged}"
        )


class Worker:
    """Delivers for one app. Each pass uses its own sessions; nothing is held between passes."""

    def __init__(self, app: Flask, name: str | None = None, out=None) -> None:
        self.app = app
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"
        self.out = out
        config = app.config
        self.lease = timedelta(seconds=float(config["DELIVERY_LEASE_SECONDS"]))
        self.max_attempts = int(config["DELIVERY_MAX_ATTEMPTS"])
        self.backoff = float(config["DELIVERY_BACKOFF_SECONDS"])
        self.timeout = float(config["WEBHOOK_TIMEOUT_SECONDS"])
        self.allow_private = bool(config["WEBHOOK_ALLOW_PRIVATE"])
        self.retention = timedelta(days=float(config["OUTBOX_RETENTION_DAYS"]))
        self.pause_after_claim = float(config.get("WORKER_PAUSE_AFTER_CLAIM") or 0)

    def say(self, line: str) -> None:
        if self.out is not None:
            print(line, file=self.out, flush=True)

    def _session(self) -> Session:
        return db.get_db(self.app).sessionmaker()

    @property
    def _locks(self) -> bool:
        return db.get_db(self.app).dialect == "postgresql"

    # --- one pass ------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> PassReport:
        report = PassReport()
        with self.app.app_context():
            self.dispatch(report, now)
            self.digests(report, now)
            self.deliver(report, now)
            self.purge(report, now)
        return report

    def run_forever(self, interval: float, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                report = self.run_once()
                if report.dispatched or report.delivered or report.failed or report.retried:
                    self.say(report.summary())
            except Exception as exc:  # keep serving; the next pass retries what was left
                self.say(f"worker pass failed: {exc!r}")
            stop.wait(interval)

    def _claim(self, query):
        return query.with_for_update(skip_locked=True) if self._locks else query

    def dispatch(self, report: PassReport, now: datetime | None) -> None:
        mailer = mail.mail_enabled()
        while True:
            with self._session() as session:
                events = list(
                    session.scalars(
                        self._claim(
                            select(OutboxEvent)
                            .where(OutboxEvent.state == "pending")
                            .order_by(OutboxEvent.id)
                            .limit(BATCH)
                        )
                    )
                )
                if not events:
                    return
                # Take the rows by marking them first, under the write lock: on SQLite (no row
                # locks) a second worker's same UPDATE waits, then finds them taken.
                mine = set(
                    session.scalars(
                        update(OutboxEvent)
                        .where(
                            OutboxEvent.id.in_([e.id for e in events]),
                            OutboxEvent.state == "pending",
                        )
                        .values(state="dispatched", dispatched_at=now or utcnow())
                        .returning(OutboxEvent.id)
                        .execution_options(synchronize_session=False)
                    )
                )
                events = [e for e in events if e.id in mine]
                report.notified += fanout.dispatch(
                    session, events, now=now or utcnow(), mailer=mailer
                )
                report.dispatched += len(events)
                session.commit()

    def digests(self, report: PassReport, now: datetime | None) -> None:
        now = now or utcnow()
        if not mail.mail_enabled():
            return
        with self._session() as session:
            waiting = list(
                session.scalars(
                    self._claim(
                        select(Notification)
                        .where(Notification.digest.is_not(None), Notification.digested_at.is_(None))
                        .order_by(Notification.id)
                    )
                )
            )
            groups: dict[tuple[int, int, str], list[Notification]] = {}
            for note in waiting:
                groups.setdefault((note.account_id, note.project_id, note.digest), []).append(note)
            due = {
                key: notes
                for key, notes in groups.items()
                if now - min(n.created_at for n in notes) >= DIGEST_PERIODS[key[2]]
            }
            if not due:
                return
            accounts = {
                a.id: a
                for a in session.scalars(select(Account).where(Account.id.in_({k[0] for k in due})))
            }
            projects = {
                p.id: p
                for p in session.scalars(select(Project).where(Project.id.in_({k[1] for k in due})))
            }
            taken = set(
                session.scalars(
                    update(Notification)
                    .where(
                        Notification.id.in_([n.id for notes in due.values() for n in notes]),
                        Notification.digested_at.is_(None),
                    )
                    .values(digested_at=now)
                    .returning(Notification.id)
                    .execution_options(synchronize_session=False)
                )
            )
            for (account_id, project_id, period), notes in due.items():
                notes = [n for n in notes if n.id in taken]  # another worker took the rest
                if not notes:
                    continue
                message = mail.digest_mail(
                    accounts[account_id], projects[project_id], period, notes
                )
                session.add(
                    Delivery(
                        channel="email",
                        account_id=account_id,
                        event="digest",
                        payload=json.dumps(message),
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                report.digests += 1
            session.commit()

    # --- deliveries ----------------------------------------------------------------------------

    def claim(self, now: datetime | None = None, limit: int = 10) -> list[int]:
        """Lease up to `limit` due deliveries to this worker and commit the lease."""
        now = now or utcnow()
        with self._session() as session:
            ids = list(
                session.scalars(
                    self._claim(
                        select(Delivery.id)
                        .where(
                            Delivery.state == "pending",
                            Delivery.next_attempt_at <= now,
                            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                        )
                        .order_by(Delivery.next_attempt_at, Delivery.id)
                        .limit(limit)
                    )
                )
            )
            if ids:
                # The lease is taken only where it is still free: on SQLite (no row locks) two
                # workers may select the same rows, and only one UPDATE finds them free.
                ids = list(
                    session.scalars(
                        update(Delivery)
                        .where(
                            Delivery.id.in_(ids),
                            Delivery.state == "pending",
                            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                        )
                        .values(lease_until=now + self.lease, claimed_by=self.name)
                        .returning(Delivery.id)
                        .execution_options(synchronize_session=False)
                    )
                )
            session.commit()
        return sorted(ids)

    def deliver(self, report: PassReport, now: datetime | None) -> None:
        seen: set[int] = set()
        while True:
            ids = [i for i in self.claim(now) if i not in seen]
            if not ids:
                return
            seen.update(ids)
            self.say(f"claimed deliveries {', '.join(map(str, ids))}")
            if self.pause_after_claim:
                time.sleep(self.pause_after_claim)  # fault injection for tests: kill me now
            for delivery_id in ids:
                self.deliver_one(delivery_id, report, now)

    def deliver_one(self, delivery_id: int, report: PassReport, now: datetime | None) -> None:
        try:
            result = self._send(delivery_id, now)
        except Exception as exc:  # whatever it was, it is this attempt's error, and recorded
            result = webhooks.CallResult(False, None, 0, f"{type(exc).__name__}: {exc}"[:500])
        if result is not None:
            self.record(delivery_id, result, report, now)

    def _send(self, delivery_id: int, now: datetime | None) -> webhooks.CallResult | None:
        """Send one claimed delivery; None when this worker no longer holds it."""
        with self._session() as session:
            # Renew the lease right before sending, and only while it is still ours and
            # running: a worker that outlived its lease must not send what another has taken.
            at = now or utcnow()
            renewed = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.claimed_by == self.name,
                    Delivery.state == "pending",
                    Delivery.lease_until > at,
                )
                .values(lease_until=at + self.lease)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
            if renewed != 1:
                return None
            delivery = session.get(Delivery, delivery_id)
            hook = session.get(Webhook, delivery.webhook_id) if delivery.webhook_id else None
            channel, payload, event = delivery.channel, delivery.payload, delivery.event
            target = (hook.url, hook.secret) if hook is not None and hook.active else None
        # The session is closed: no transaction stays open while the network call runs.
        if channel == "webhook":
            if target is None:
                result = webhooks.CallResult(False, None, 0, "The webhook is disabled.")
            else:
                result = webhooks.call(
                    target[0],
                    payload,
                    secret=target[1],
                    event=event,
                    delivery_id=delivery_id,
                    timeout=self.timeout,
                    allow_private=self.allow_private,
                )
        else:
            result = self._send_mail(payload)
        return result

    def _send_mail(self, payload: str) -> webhooks.CallResult:
        started = time.monotonic()
        try:
            settings = mail.smtp_settings(self.app.config.get("SMTP_URL"))
            if settings is None:
                return webhooks.CallResult(False, None, 0, "PLANNER_SMTP_URL is not set.")
            mail.send(
                settings,
                self.app.config["MAIL_FROM"],
                json.loads(payload),
                timeout=self.timeout,
            )
        except mail.MailSettingsError as exc:
            error = str(exc)
        except Exception as exc:  # smtplib and socket errors of every kind: retry later
            error = f"{type(exc).__name__}: {exc}"[:500]
        else:
            error = None
        took = int((time.monotonic() - started) * 1000)
        return webhooks.CallResult(error is None, 250 if error is None else None, took, error)

    def record(
        self,
        delivery_id: int,
        result: webhooks.CallResult,
        report: PassReport,
        now: datetime | None,
    ) -> None:
        """Write the attempt and the delivery's new state, if this worker still holds it."""
        at = now or utcnow()
        with self._session() as session:
            query = select(Delivery).where(Delivery.id == delivery_id)
            if self._locks:
                query = query.with_for_update()  # wait for a redelivery being saved, never skip
            delivery = session.scalar(query)
            if delivery is None or delivery.claimed_by != self.name:
                return
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    at=at,
                    worker=self.name,
                    ok=result.ok,
                    status_code=result.status_code,
                    duration_ms=result.duration_ms,
                    error=result.error,
                )
            )
            delivery.attempts += 1
            delivery.lease_until = None
            delivery.claimed_by = None
            if result.ok:
                delivery.state = "delivered"
                delivery.delivered_at = at
                delivery.last_error = None
                report.delivered += 1
                self.say(f"delivered {delivery.channel} {delivery.id} ({delivery.event})")
            elif delivery.attempts >= self.max_attempts:
                delivery.state = "failed"
                delivery.last_error = result.error
                report.failed += 1
                self.say(f"gave up on {delivery.channel} {delivery.id}: {result.error}")
                if delivery.webhook_id is not None:
                    self._disable_webhook(session, delivery, at)
            else:
                delivery.last_error = result.error
                wait = min(self.backoff * 2 ** min(delivery.attempts - 1, 30), MAX_WAIT)
                delivery.next_attempt_at = at + timedelta(seconds=wait)
                report.retried += 1
                self.say(f"will retry {delivery.channel} {delivery.id}: {result.error}")
            session.commit()

    def _disable_webhook(self, session: Session, delivery: Delivery, at: datetime) -> None:
        """After a delivery failed every retry, the webhook stops and its managers hear why."""
        reason = (
            f"Disabled on {at:%Y-%m-%d %H:%M} UTC after delivery {delivery.id} failed "
            f"{delivery.attempts} times: {delivery.last_error}"
        )
        # Only the worker that turns it off tells the managers (two may fail at once).
        turned_off = session.execute(
            update(Webhook)
            .where(Webhook.id == delivery.webhook_id, Webhook.active.is_(True))
            .values(active=False, disabled_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        if turned_off != 1:
            return
        hook = session.get(Webhook, delivery.webhook_id)
        session.refresh(hook)
        # Waiting deliveries stop; one another worker is sending right now records itself.
        session.execute(
            update(Delivery)
            .where(
                Delivery.webhook_id == hook.id,
                Delivery.state == "pending",
                or_(Delivery.lease_until.is_(None), Delivery.lease_until < at),
            )
            .values(state="failed", last_error="The webhook was disabled.")
            .execution_options(synchronize_session=False)
        )
        project = session.get(Project, hook.project_id)
        managers = session.scalars(
            select(Membership)
            .where(Membership.project_id == hook.project_id, Membership.access == "manage")
            .options(selectinload(Membership.account))
        ).all()
        mailer = mail.mail_enabled()
        for membership in managers:
            if not membership.account.is_active_account:
                continue
            note = fanout.Note(
                membership.account_id,
                "webhook",
                f"Webhook {hook.url} was disabled after repeated failures",
                f"/projects/{project.key}/settings#webhooks",
                hook.disabled_reason,
            )
            mode = fanout.preference(session, membership, "webhook")
            fanout.store(session, project, membership, note, mode, None, now=at, mailer=mailer)

    # --- retention -----------------------------------------------------------------------------

    def purge(self, report: PassReport, now: datetime | None) -> None:
        """Delete finished deliveries and dispatched outbox rows older than the retention."""
        cutoff = (now or utcnow()) - self.retention
        with self._session() as session:
            gone = session.execute(
                delete(Delivery).where(
                    Delivery.state.in_(("delivered", "failed")), Delivery.created_at < cutoff
                )
            ).rowcount
            gone += session.execute(
                delete(OutboxEvent).where(
                    OutboxEvent.state == "dispatched",
                    OutboxEvent.dispatched_at < cutoff,
                    ~exists().where(
                        and_(Delivery.event_id == OutboxEvent.id, Delivery.state == "pending")
                    ),
                )
            ).rowcount
            session.commit()
        report.purged += gone


def start_thread(app: Flask, interval: float = 2.0) -> threading.Event:
    """Run a worker in a daemon thread of this process (what `planner quickstart` does);
    set the returned event to stop it."""
    stop = threading.Event()
    worker = Worker(app, out=sys.stderr)
    thread = threading.Thread(
        target=worker.run_forever, args=(interval, stop), name="planner-worker", daemon=True
    )
    thread.start()
    return stop
