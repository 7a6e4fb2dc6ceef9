"""Command-line tasks: ``flask --app portal demo-data``."""

from datetime import date

import click
from flask import Flask


def _month(value: str) -> date:
    """``--month``: a year and month that is not in the future, as its first day."""
    from portal.reports.forms import parse_month

    start = parse_month(value)
    if start is None:
        raise click.BadParameter("use a year and month such as 2011-03", param_hint="--month")
    if start > date.today().replace(day=1):
        raise click.BadParameter("the month is in the future", param_hint="--month")
    return start


def _organisation_id(ods_code: str | None) -> int | None:
    """``--organisation``: the id of the organisation with that ODS code; none when not given."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Organisation

    if not ods_code:
        return None
    found = db.session.scalar(
        select(Organisation.id).where(Organisation.ods_code == ods_code.upper())
    )
    if found is None:
        raise click.BadParameter("no organisation has this ODS code", param_hint="--organisation")
    return found


def register_cli(app: Flask) -> None:
    @app.cli.command("demo-data")
    def demo_data():
        """Load the demo practice, staff, patients and carer (safe to run again)."""
        from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, demo_accounts, load_demo_data

        created = load_demo_data()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        for user in demo_accounts():
            two_step = "  (two-step verification)" if user.mfa_enabled else ""
            click.echo(f"  {user.role:15} {user.display_name:18} {user.email}{two_step}")
        click.echo(f"  password for all: {DEMO_PASSWORD}")
        click.echo(
            "  accounts marked (two-step verification) also need a code:\n"
            f"  add the key {DEMO_TOTP_SECRET} to an authenticator app,\n"
            "  or run: flask --app portal demo-code"
        )

    @app.cli.command("demo-code")
    def demo_code():
        """Print the current two-step verification code of the demo staff accounts."""
        import pyotp

        from portal.demo import DEMO_TOTP_SECRET

        click.echo(pyotp.TOTP(DEMO_TOTP_SECRET).now())

    @app.cli.command("report")
    @click.option("--month", required=True, help="The month to report on, as YYYY-MM.")
    @click.option(
        "--format", "output", type=click.Choice(["csv", "text"]), default="text", show_default=True
    )
    @click.option("--organisation", help="ODS code of one organisation (default: all of them).")
    def report(month: str, output: str, organisation: str | None):
        """Print the commissioner's figures for a month, suppressed as on the dashboard."""
        from flask_babel import force_locale

        from portal.outside import lift_statement_timeout
        from portal.reports.exports import as_csv, as_text
        from portal.reports.register import for_report
        from portal.reports.services import monthly_report

        lift_statement_timeout()
        start = _month(month)
        organisation_id = _organisation_id(organisation)
        with force_locale("en"):
            figures = monthly_report(start, organisation_id)
            register = for_report(figures, organisation_id)
            text = as_csv(figures, register) if output == "csv" else as_text(figures, register)
            click.echo(text, nl=output != "csv")

    @app.cli.command("register-import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--organisation", required=True, help="ODS code of the practice.")
    @click.option("--dry-run", is_flag=True, help="Check and count, but change nothing.")
    def register_import(file: str, organisation: str, dry_run: bool):
        """Bring in a practice's long-term-conditions register from a CSV file."""
        from portal.register.cli import import_file

        import_file(file, organisation, dry_run)

    @app.cli.command("report-summarise")
    @click.option("--month", help="A month that has ended, as YYYY-MM (summarised again if done).")
    @click.option(
        "--all-missing",
        is_flag=True,
        help="Every month without a final summary (this month so far too), and new-patient "
        "figures still to finish.",
    )
    def report_summarise(month: str | None, all_missing: bool):
        """Store the report's counts month by month: run nightly with --all-missing."""
        from portal.outside import lift_statement_timeout
        from portal.reports.summary import closed, summarise, summarise_missing

        if bool(month) == all_missing:
            raise click.UsageError("give either --month YYYY-MM or --all-missing")
        lift_statement_timeout()
        if month:
            start = _month(month)
            if not closed(start, date.today()):
                raise click.BadParameter("the month has not ended yet", param_hint="--month")
            written = summarise(start)
            click.echo(f"Summarised {start:%Y-%m} ({written} counts).")
            return
        today = date.today()
        summarised, finished = summarise_missing(today)
        for start in summarised:
            so_far = "" if closed(start, today) else " (the month so far)"
            click.echo(f"Summarised {start:%Y-%m}{so_far}.")
        for start in finished:
            click.echo(f"Finished the new-patient figures of {start:%Y-%m}.")
        if not summarised and not finished:
            click.echo("Nothing to summarise: no patient has been recorded yet.")

    @app.cli.command("smart-register")
    @click.option("--name", required=True, help="What the patient and the audit trail call it")
    @click.option("--kind", type=click.Choice(["system", "app"]), required=True)
    @click.option(
        "--scope", required=True, help='e.g. "system/*.read" or "launch/patient patient/*.read"'
    )
    @click.option("--organisation", help="A system's organisation (ODS code)")
    @click.option("--jwks", type=click.File("r"), help="A system's public keys, a JWK Set file")
    @click.option("--redirect-uri", "redirect_uris", multiple=True, help="An app's (repeatable)")
    @click.option("--client-id", help="Given by the vendor; a random one otherwise")
    def smart_register(name, kind, scope, organisation, jwks, redirect_uris, client_id):
        """Register a system (SMART Backend Services) or an app (SMART App Launch)."""
        import json
        import secrets

        from portal import audit
        from portal.extensions import db
        from portal.models import ClientKind
        from portal.portability.smart import register_client

        organisation_id = _organisation_id(organisation)
        try:
            keys = json.load(jwks) if jwks else None
            client = register_client(
                name,
                ClientKind(kind),
                scope,
                client_id or secrets.token_urlsafe(16),
                organisation_id=organisation_id,
                jwks=keys,
                redirect_uris=list(redirect_uris),
            )
        except ValueError as problem:
            raise click.UsageError(str(problem)) from None
        audit.record("fhir.client_registered", None, f"client {client.client_id}")
        db.session.commit()
        click.echo(f"Registered {client.name}: client_id {client.client_id}")

    @app.cli.command("smart-deactivate")
    @click.argument("client_id")
    def smart_deactivate(client_id):
        """Stop a registered app or system: its tokens stop working on the next request."""
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import SmartClient

        client = db.session.scalar(select(SmartClient).where(SmartClient.client_id == client_id))
        if client is None:
            raise click.UsageError("no client has this client_id")
        client.active = False
        db.session.commit()
        click.echo(f"Deactivated {client.name}.")

    @app.cli.command("error-pages")
    @click.option(
        "--output", default=None, help="Folder to write to (default: deploy/error-pages)."
    )
    def error_pages(output: str | None):
        """Write the front server's page for a worker timeout in every language."""
        from pathlib import Path

        from portal.error_pages import PAGES, write_pages

        written = write_pages(app, Path(output) if output else PAGES)
        click.echo(f"Wrote {len(written)} pages to {written[0].parent.parent}.")

    @app.cli.command("bounce-server")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=8025, show_default=True, help="SMTP port to listen on.")
    def bounce_server(host: str, port: int):
        """Receive bounces (delivery reports) for MAIL_BOUNCE_ADDRESS over SMTP and record
        permanent failures (see README, Bounces)."""
        import signal
        import threading

        from portal.notifications.bounces import controller

        if not app.config.get("MAIL_BOUNCE_ADDRESS"):
            raise click.UsageError("set PORTAL_MAIL_BOUNCE_ADDRESS, e.g. bounces@example.org")
        server = controller(app, host, port)
        server.start()
        click.echo(f"Receiving bounces on {host}:{port}; Ctrl-C to stop.")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
