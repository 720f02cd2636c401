"""A project-local PostgreSQL/PostGIS cluster for development, demo and tests.

Used when ``DATABASE_URL`` is not set. The cluster lives under ``<var_dir>/pg`` (data
directory, Unix socket, log), listens on its Unix socket only (no TCP port), trusts local
connections and has one superuser role ``atlas`` and one database ``atlas``.

PostgreSQL refuses to run as root. When the caller is root (containers, CI), the server
runs as the ``postgres`` system user; if that user cannot reach ``<var_dir>`` (a parent
folder not traversable by others, e.g. a ``mktemp -d`` clone), the cluster goes to
``$TMPDIR/atlas-spro-pg-<hash of var_dir>`` instead, and says so.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROLE = "atlas"
DATABASE = "atlas"
SOCKET_PATH_MAX = 100  # Unix socket paths are limited to ~107 bytes, keep a margin


class ClusterError(RuntimeError):
    """The local cluster cannot be created, started or stopped."""


@dataclass(frozen=True)
class LocalCluster:
    """Paths and commands of the project-local cluster rooted at ``base``."""

    base: Path
    bindir: Path
    run_as: str | None  # system user running the server, None for the current user

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    @property
    def logfile(self) -> Path:
        return self.base / "postgresql.log"

    def url(self, dbname: str = DATABASE) -> str:
        """Connection string for ``dbname`` over the Unix socket."""
        return f"postgresql://{ROLE}@/{dbname}?host={self.socket_dir}"

    def is_initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = self._run(["pg_ctl", "-D", str(self.datadir), "status"], check=False)
        return result.returncode == 0

    def up(self) -> bool:
        """Create (first time) and start the cluster, and create the project's database if it
        is missing; return False if the cluster was already running."""
        if self.is_running():
            self._create_database()
            return False
        self.base.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for path in (self.base, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        if not self.is_initialised():
            self._run(
                ["initdb", "-D", str(self.datadir), "-U", ROLE, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]
            )
        options = f"-c listen_addresses='' -k {self.socket_dir}"
        self._run(
            ["pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-o", options, "-w", "-t", "60", "start"]
        )
        self._create_database()
        return True

    def down(self) -> bool:
        """Stop the cluster; return False if it was not running."""
        if not self.is_running():
            return False
        self._run(["pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"])
        return True

    def _create_database(self) -> None:
        exists = self._run(
            [
                "psql",
                "-h",
                str(self.socket_dir),
                "-U",
                ROLE,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",  # noqa: S608 - DATABASE is a constant
            ],
        ).stdout.strip()
        if exists != "1":
            self._run(["createdb", "-h", str(self.socket_dir), "-U", ROLE, DATABASE])

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        if check and result.returncode != 0:
            msg = f"{argv[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
            if argv[0] == "pg_ctl" and self.logfile.exists():
                msg += f"\n--- {self.logfile} (end) ---\n" + self.logfile.read_text(errors="replace")[-2000:]
            raise ClusterError(msg)
        return result


def find_bindir() -> Path:
    """Locate the PostgreSQL server binaries (``initdb``, ``pg_ctl``), newest version first."""
    env = os.environ.get("ATLAS_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    msg = "PostgreSQL server binaries not found: install postgresql-15 (make setup does it) or set ATLAS_PG_BINDIR"
    raise ClusterError(msg)


def local_cluster(var_dir: Path) -> LocalCluster:
    """The cluster for ``var_dir``, choosing where it can live for the current user."""
    var_dir = var_dir.resolve()
    base = var_dir / "pg"
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres"
        try:
            pwd.getpwnam(run_as)
        except KeyError as exc:
            msg = "running as root needs the 'postgres' system user (from the postgresql package)"
            raise ClusterError(msg) from exc
        if not _traversable_by_others(var_dir):
            base = _fallback_base(var_dir)
    if len(str(base / "run" / ".s.PGSQL.5432")) > SOCKET_PATH_MAX:
        base = _fallback_base(var_dir)
    return LocalCluster(base=base, bindir=find_bindir(), run_as=run_as)


def _fallback_base(var_dir: Path) -> Path:
    digest = hashlib.sha256(str(var_dir).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"atlas-spro-pg-{digest}"


def _traversable_by_others(path: Path) -> bool:
    """True when every existing ancestor of ``path`` has the others-execute bit."""
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def _version_key(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0
