"""Command-line tasks: ``flask --app portal demo-data``."""

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("demo-data")
    def demo_data():
        """Load the demo practice, staff, patients and carer (safe to run again)."""
        from portal.demo import ACCOUNTS, DEMO_PASSWORD, load_demo_data

        created = load_demo_data()
        click.echo("Demo data loaded." if created else "Demo data already present.")
        for label, email in ACCOUNTS.items():
            click.echo(f"  {label:20} {email}")
        click.echo(f"  password for all: {DEMO_PASSWORD}")
