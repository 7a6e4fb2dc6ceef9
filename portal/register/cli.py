"""``flask --app portal register-import FILE --organisation ODS [--dry-run]``."""

import os
import sys

import click
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Organisation
from portal.register.csvfile import FileProblem
from portal.register.importer import run_import


def import_file(path: str, ods_code: str, dry_run: bool) -> None:
    """Import (or with ``dry_run`` only check) a register file, printing counts and rejections."""
    organisation = db.session.scalar(
        select(Organisation).where(func.upper(Organisation.ods_code) == ods_code.strip().upper())
    )
    if organisation is None:
        raise click.BadParameter("no organisation has that ODS code", param_hint="--organisation")
    size = os.path.getsize(path)
    with force_locale("en"), open(path, "rb") as stream:
        with click.progressbar(length=size, label="Reading", file=sys.stderr) as bar:
            done = 0

            def advance(bytes_read: int) -> None:
                nonlocal done
                bar.update(bytes_read - done)
                done = bytes_read

            try:
                outcome = run_import(stream, organisation, progress=advance)
            except FileProblem as problem:
                db.session.rollback()
                raise click.ClickException(str(problem.message)) from None
            except BaseException:
                db.session.rollback()
                raise
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        heading = "Dry run: nothing was changed." if dry_run else "Imported."
        click.echo(
            f"{heading}\n"
            f"  rows read            {outcome.rows}\n"
            f"  new                  {outcome.new}\n"
            f"  updated              {outcome.updated}"
            f" (of them moved from another practice: {outcome.transferred})\n"
            f"  unchanged            {outcome.unchanged}\n"
            f"  left the register    {outcome.left}\n"
            f"  rejected             {outcome.rejected}"
        )
        for rejection in outcome.rejections:
            click.echo(f"  line {rejection.line}: {rejection.reason}")
