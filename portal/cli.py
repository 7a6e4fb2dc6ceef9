"""Command-line tasks: ``flask --app portal demo-data``."""

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("demo-data")
    def demo_data():
        """Load the demo practice, staff, patients and carer (safe to run again)."""
        from portal.demo import ACCOUNTS, DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo_data

        created = load_demo_data()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        for label, email in ACCOUNTS.items():
            click.echo(f"  {label:20} {email}")
        click.echo(f"  password for all: {DEMO_PASSWORD}")
        click.echo(
            "  staff (nurse, GP, commissioner, admin) also need a two-step verification code:\n"
            f"  add the key {DEMO_TOTP_SECRET} to an authenticator app,\n"
            "  or run: flask --app portal demo-code"
        )

    @app.cli.command("demo-code")
    def demo_code():
        """Print the current two-step verification code of the demo staff accounts."""
        import pyotp

        from portal.demo import DEMO_TOTP_SECRET

        click.echo(pyotp.TOTP(DEMO_TOTP_SECRET).now())
