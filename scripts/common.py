"""What every ``atlas`` subcommand shares: the console, the database URL, failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from geo import french
from geo.errors import ValidationError
from geo.vocabulary import MODES, Mode, parse_mode
from settings import Settings

if TYPE_CHECKING:
    import psycopg

MODE_LABELS = french.MODE_NOUNS
"""French names of the travel modes (« réseau voiture », « réseau marche »)."""

console = Console(stderr=True)
"""Messages go to stderr; stdout is kept for results a script may read."""


def database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the project-local cluster's URL."""
    if settings.database_url:
        return settings.database_url
    from storage.cluster import local_cluster

    return local_cluster(settings.var_dir).url()


@contextlib.contextmanager
def open_db(settings: Settings | None = None) -> Iterator[psycopg.Connection]:
    """Connection to the database, with pending migrations applied."""
    from storage.db import connect
    from storage.migrate import migrate

    with connect(database_url(settings or Settings.from_env())) as conn:
        migrate(conn)
        yield conn


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error (markup in it is shown as text) and return the exit."""
    console.print(f"[bold red]Erreur[/] : {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def modes_option(values: list[str] | None) -> list[Mode]:
    """The modes of a ``--mode`` option (both by default), or a failure naming the unknown one."""
    return list(dict.fromkeys(mode_option(value) for value in values or MODES))


def mode_option(value: str) -> Mode:
    """One mode (``drive``/``voiture``, ``walk``/``marche``/``pied``), or a failure (exit 2)."""
    try:
        return parse_mode(value)
    except ValidationError as exc:
        raise fail(f"mode inconnu {value!r} : attendu drive (voiture) ou walk (marche)") from exc
