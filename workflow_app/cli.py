"""Flask CLI commands: ``flask --app wsgi <group> <command>``.

``users create-admin USERNAME``,
``worker [--burst]``, ``scheduler``, ``audit verify|checkpoint|reseal-legacy`` and
``docs state-machines``. The ``demo`` group comes from ``workflow_app.dev`` outside production;
in production a stand-in ``demo load`` refuses.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from workflow_app.uow import unit_of_work

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "state-machines.md"
DEMO_REFUSED_IN_PRODUCTION = (
    "demo data is refused in production (KINERJA_ENV=production): it creates 'admin', 'hr' and "
    "50 users with the public password 'kinerja-demo'. Create the first administrator with "
    "'flask --app wsgi users create-admin USERNAME --password-file PATH' instead."
)


def register_cli(app) -> None:
    # Each command imports what it needs inside its function, on purpose: building the app
    # (which registers these commands) must not load the worker, the scheduler or the audit
    # machinery, and `flask --help` stays quick.
    audit = AppGroup("audit", help="Audit-trail checks.")
    docs = AppGroup("docs", help="Generated documentation.")

    if app.config["ENV_NAME"] == "production":
        # The demo lives in workflow_app.dev, which a production app never loads (see create_app);
        # this stand-in only says why it is refused.
        demo = AppGroup("demo", help="Demo data: refused in production.")

        @demo.command("load")
        @click.option("--force", is_flag=True, help="Refused in production too.")
        def demo_load(force: bool) -> None:
            """Refused in production: the demo's users share a published password."""
            raise click.ClickException(DEMO_REFUSED_IN_PRODUCTION)

        app.cli.add_command(demo)

    @app.cli.command("worker", with_appcontext=False)
    @click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
    def worker_cmd(burst: bool) -> None:
        """Run an RQ worker on the notifications, escalations and default queues."""
        from workflow_app.jobs.worker import run

        if not app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: the worker needs Redis.")
        run(app, burst=burst)

    @app.cli.command("scheduler", with_appcontext=False)
    @click.option("--interval", type=float, default=None, help="Seconds between ticks.")
    def scheduler_cmd(interval: float | None) -> None:
        """Run the periodic scheduler (outbox relay)."""
        from workflow_app.jobs.scheduler import Scheduler

        Scheduler(app, interval or float(os.environ.get("SCHEDULER_INTERVAL", "10"))).run()

    @audit.command("verify")
    def audit_verify() -> None:
        """Verify every log chain, its checkpoints and each appraisal's replay; exit 1 on any problem."""
        from workflow_app.services.audit_verify import verify_all

        report = verify_all()
        for line in report.lines():
            click.echo(line, err=True)
        for note in report.notes:
            click.echo(note)
        click.echo(
            f"{report.chains} chains ({report.rows} log rows, {report.appraisals} appraisals, "
            f"{report.checkpoints} checkpointed) checked, {len(report.problems)} with problems."
        )
        if not report.ok:
            sys.exit(1)

    @audit.command("checkpoint")
    def audit_checkpoint() -> None:
        """Write signed checkpoints of every chain whose head moved (the sweep does this too)."""
        from workflow_app.jobs.sweeps import checkpoint_sweep

        result = checkpoint_sweep()
        mirrored = ", ".join(result["mirrored"]) or "the table only"
        click.echo(
            f"{result['written']} checkpoints written ({mirrored}); {result['refused']} chains refused."
        )

    @audit.command("reseal-legacy")
    @click.option("--yes", is_flag=True, help="Do it (without this flag, only count).")
    def audit_reseal_legacy(yes: bool) -> None:
        """Re-sign with AUDIT_KEY the unkeyed SHA-256 rows written before migration 0004 (one-off)."""
        from sqlalchemy import func, select

        from workflow_app.extensions import db
        from workflow_app.models import TransitionLog
        from workflow_app.services.audit import LEGACY_KEY_ID
        from workflow_app.services.audit_verify import mirror, reseal_legacy

        if not yes:
            count = db.session.scalar(
                select(func.count()).select_from(TransitionLog).where(TransitionLog.key_id == LEGACY_KEY_ID)
            )
            click.echo(f"{count} legacy rows; run 'audit verify' first, then 'audit reseal-legacy --yes'.")
            return
        with unit_of_work(hooks=False):
            result = reseal_legacy()
        mirror(result.pop("checkpoints"))
        for entity, entity_id in result["refused"]:
            click.echo(f"{entity} {entity_id}: not resealed, the chain does not verify", err=True)
        click.echo(f"{len(result['resealed'])} chains resealed, {len(result['refused'])} refused.")
        if result["refused"]:
            sys.exit(1)

    def write_doc(render, output: Path, check: bool) -> None:
        text = render()
        if check:
            current = output.read_text() if output.exists() else ""
            if current != text:
                click.echo(f"{output} is out of date; run 'make docs'.", err=True)
                sys.exit(1)
            click.echo(f"{output} is up to date.")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        click.echo(f"Wrote {output}")

    @docs.command("state-machines")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=DOCS_PATH)
    @click.option("--check", is_flag=True, help="Exit 1 if the file is not up to date.")
    def docs_state_machines(output: Path, check: bool) -> None:
        """Write docs/state-machines.md from the definitions in state_machines/."""
        from state_machines.docs import render_state_machine_docs

        write_doc(render_state_machine_docs, output, check)

    @docs.command("notifications")
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DOCS_PATH.parent / "notifications.md",
    )
    @click.option("--check", is_flag=True, help="Exit 1 if the file is not up to date.")
    def docs_notifications(output: Path, check: bool) -> None:
        """Write docs/notifications.md from the notification rules."""
        from workflow_app.notifications.docs import render_notification_docs

        write_doc(render_notification_docs, output, check)

    users = AppGroup("users", help="User accounts.")

    @users.command("create-admin")
    @click.argument("username")
    @click.option(
        "--password-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the password from the first line of this file (e.g. a Docker secret); "
        "without it the password is asked for, hidden, twice.",
    )
    @click.option("--unit-id", type=click.IntRange(min=1), help="The top-level unit the admin manages.")
    @click.option("--unit-code", default="PROV", show_default=True, help="Code of the root unit, if created.")
    @click.option(
        "--unit-name",
        default="Pemerintah Provinsi",
        show_default=True,
        help="Name of the root unit, if created.",
    )
    @click.option(
        "--timezone",
        type=click.Choice(["WIB", "WITA", "WIT"]),
        default="WIB",
        show_default=True,
        help="Time zone of the root unit, if created.",
    )
    def users_create_admin(username, password_file, unit_id, unit_code, unit_name, timezone) -> None:
        """Create the first administrator: role admin over a whole unit tree.

        Without units, the root unit is created from --unit-code/--unit-name. The password is
        never taken from the command line (it would stay in the shell history and the process
        list): it comes from a hidden prompt or from --password-file.
        """
        from workflow_app.services.bootstrap import BootstrapError, check_password, create_admin

        if password_file is not None:
            lines = password_file.read_text(encoding="utf-8").splitlines()
            password = lines[0].strip() if lines else ""
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            check_password(password)
            with unit_of_work(hooks=False):
                user, unit, created = create_admin(
                    username,
                    password,
                    unit_id=unit_id,
                    unit_code=unit_code,
                    unit_name=unit_name,
                    timezone=timezone,
                )
        except BootstrapError as exc:
            raise click.ClickException(str(exc)) from None
        if created:
            click.echo(f"Created the root unit {unit.id} ({unit.code}, {unit.name}).")
        click.echo(f"Created {user.username!r} (user {user.id}), admin of unit {unit.id} ({unit.code}).")

    counts = AppGroup("counts", help="The monitoring counts kept by triggers.")

    @counts.command("compact")
    def counts_compact() -> None:
        """Fold the counts' deltas now (the minute sweep does this too)."""
        from workflow_app.services.monitoring import compact_counts

        click.echo(json.dumps(compact_counts(), default=str))

    @counts.command("rebuild")
    def counts_rebuild() -> None:
        """Count afresh from the appraisals: after a restore, or writes with the triggers off.
        Writers to the appraisals wait meanwhile."""
        from workflow_app.services.monitoring import rebuild_counts

        click.echo(json.dumps(rebuild_counts(), default=str))

    for group in (audit, docs, users, counts):
        app.cli.add_command(group)
