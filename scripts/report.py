"""``atlas report --year 2026 [--output FILE]``: the yearly report for the CCREFP as one
self-contained HTML file (styles inlined, no script, no external resource), identical in
content to the page ``/diagnostic/rapport/<year>``: both are built from the snapshot of
that year (``atlas snapshot``); a year without one is an error listing the years that have one.

The core (:func:`render_report`, :func:`report`) has no typer dependency; ``scripts/cli.py``
only parses the options and calls :func:`report`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from markupsafe import Markup
from psycopg_pool import PoolTimeout

FIRST_YEAR, LAST_YEAR = 2000, 2100
STYLESHEET = Path(__file__).resolve().parent.parent / "webapp" / "static" / "css" / "atlas.css"


class ReportError(Exception):
    """The report cannot be written (bad year, database unreachable, file not writable)."""


def no_report_message(year: int, years: list[int]) -> str:
    """Why there is no report for ``year``, with the years that have one."""
    available = ", ".join(map(str, years)) if years else "aucun"
    return (
        f"pas de bilan pour {year} (aucun instantané de cette année) ; bilans disponibles : {available}. "
        f"Prendre l'instantané : atlas snapshot --year {year}"
    )


def render_report(year: int, database_url: str) -> str:
    """The report of ``year`` as HTML text, rendered by the web application's templates."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        msg = f"année {year} hors de la période couverte ({FIRST_YEAR}-{LAST_YEAR})"
        raise ReportError(msg)
    from flask import render_template

    from webapp import create_app
    from webapp.db import connection
    from webapp.reporting import NoReportError, report_context

    app = create_app({"DATABASE_URL": database_url, "POOL_TIMEOUT_S": 5.0, "CACHE_WARM": False, "RATELIMIT_API": "off"})
    try:
        with app.test_request_context(f"/diagnostic/rapport/{year}"):
            with connection() as conn:
                try:
                    context = report_context(conn, year)
                except NoReportError as exc:
                    raise ReportError(no_report_message(exc.year, exc.years)) from exc
            css = Markup(STYLESHEET.read_text(encoding="utf-8"))  # our own stylesheet, inlined verbatim
            return render_template("planning/rapport.html", standalone=True, inline_css=css, **context)
    except (psycopg.OperationalError, PoolTimeout) as exc:
        msg = f"base de données injoignable : {type(exc).__name__}"
        raise ReportError(msg) from exc
    finally:
        app.extensions["atlas_pool"].close()


def report(year: int, output: Path, *, database_url: str | None = None) -> Path:
    """Write the report of ``year`` to ``output`` (UTF-8 HTML) and return the path.

    ``database_url`` defaults to ``DATABASE_URL``, else the project-local cluster.
    """
    if database_url is None:
        from settings import Settings

        settings = Settings.from_env()
        if settings.database_url:
            database_url = settings.database_url
        else:
            from storage.cluster import local_cluster

            database_url = local_cluster(settings.var_dir).url()
    html = render_report(year, database_url)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        msg = f"{output} : écriture impossible ({exc.strerror})"
        raise ReportError(msg) from exc
    return output
