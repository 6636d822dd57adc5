"""``flask --app wsgi demo load [--force]`` and ``demo logins [--json]`` (not in production)."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

from workflow_app.dev.demo import (
    PRODUCTION_REFUSAL,
    DemoDataExists,
    DemoRefusedInProduction,
    load_demo,
)
from workflow_app.dev.logins import demo_logins


def demo_group(app: Flask) -> AppGroup:
    demo = AppGroup("demo", help="Demo data and logins.")

    @demo.command("load")
    @click.option("--force", is_flag=True, help="Delete all existing data first.")
    def demo_load(force: bool) -> None:
        """Load the demo province, users and a running cycle (refuses when data exists or in production)."""
        if app.config["ENV_NAME"] == "production":
            raise click.ClickException(PRODUCTION_REFUSAL)
        try:
            summary = load_demo(force=force)
        except DemoRefusedInProduction as exc:
            raise click.ClickException(str(exc)) from None
        except DemoDataExists:
            raise click.ClickException(
                "The database already holds data; run 'flask --app wsgi demo load --force' to replace it."
            ) from None
        click.echo(
            f"Loaded {summary['units']} units, {summary['employees']} employees, "
            f"{summary['users']} users and cycle {summary['cycle_id']}."
        )

    @demo.command("logins")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def demo_logins_cmd(as_json: bool) -> None:
        """List the demo logins (username, password, role, name, employee_id)."""
        rows = demo_logins()
        if as_json:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            click.echo("No demo logins (load them with 'flask --app wsgi demo load').")
            return
        width = max(len(r["username"]) for r in rows)
        pw_width = max(len(r["password"]) for r in rows)
        for r in rows:
            who = f"{r['name']}, {r['position']}" if r.get("position") else r["name"]
            click.echo(f"{r['username']:<{width}}  {r['password']:<{pw_width}}  {r['role']:<8}  {who}")

    return demo
