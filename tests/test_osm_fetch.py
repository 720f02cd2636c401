"""``atlas network fetch`` against a loopback HTTP server serving the real Andorra extract.

The server lays the file out as Geofabrik does (``europe/andorra-latest.osm.pbf`` and its
``.md5``), honours ``Range`` / ``If-Range``, and can be told to cut a transfer after some
bytes or to publish a wrong checksum.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from geo.network.osm import graph_from_osm_file
from geo.sources.osm_extract import REGION_EXTRACTS, FetchError, extract_url, fetch_extract
from tests.test_osm_merge import split_by_longitude

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
PATH = "europe/andorra-latest.osm.pbf"
LAST_MODIFIED = "Sun, 29 Nov 2026 20:21:58 GMT"


@dataclass
class Mirror:
    """What the loopback server serves and what it saw."""

    body: bytes
    md5: str
    cut_after: int | None = None
    """Close the connection after this many body bytes (once), announcing the full length."""
    ranges: list[str | None] = field(default_factory=list)
    url: str = ""
    others: dict[str, bytes] = field(default_factory=dict)
    """More extracts served whole: path below the root -> bytes (their .md5 is right)."""


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    body = ANDORRA.read_bytes()
    state = Mirror(body=body, md5=hashlib.md5(body, usedforsecurity=False).hexdigest())

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep the test output clean
            return

        def do_GET(self) -> None:
            other = state.others.get(self.path.lstrip("/").removesuffix(".md5"))
            if other is not None:
                md5 = hashlib.md5(other, usedforsecurity=False).hexdigest()
                payload = f"{md5}  x\n".encode() if self.path.endswith(".md5") else other
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            if self.path == f"/{PATH}.md5":
                payload = f"{state.md5}  andorra-latest.osm.pbf\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            if self.path != f"/{PATH}":
                self.send_error(404)
                return
            wanted = self.headers.get("Range")
            state.ranges.append(wanted)
            start = 0
            if wanted and self.headers.get("If-Range") == LAST_MODIFIED:
                start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(state.body):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206 if start else 200)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", str(len(state.body) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(state.body) - 1}/{len(state.body)}")
            self.end_headers()
            payload = state.body[start:]
            if state.cut_after is not None:
                payload, state.cut_after = payload[: state.cut_after], None
                self.wfile.write(payload)
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_download_is_checked_and_atomic(mirror: Mirror, tmp_path: Path) -> None:
    fetched = fetch_extract(mirror.url, "europe/andorra", tmp_path)
    assert fetched.path == tmp_path / "andorra-latest.osm.pbf"
    assert fetched.path.read_bytes() == mirror.body
    assert fetched.downloaded and fetched.md5 == mirror.md5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["andorra-latest.osm.pbf"]
    again = fetch_extract(mirror.url, "europe/andorra", tmp_path)
    assert not again.downloaded
    assert mirror.ranges == [None]  # the second call only read the .md5


def test_interrupted_download_resumes(mirror: Mirror, tmp_path: Path) -> None:
    mirror.cut_after = 100_000
    with pytest.raises(FetchError, match="interrompu"):
        fetch_extract(mirror.url, "europe/andorra", tmp_path)
    assert not (tmp_path / "andorra-latest.osm.pbf").exists()
    part = tmp_path / "andorra-latest.osm.pbf.part"
    assert part.stat().st_size == 100_000
    seen: list[tuple[int, int | None]] = []
    fetched = fetch_extract(mirror.url, "europe/andorra", tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert mirror.ranges == [None, "bytes=100000-"]
    assert fetched.resumed_from == 100_000
    assert fetched.path.read_bytes() == mirror.body
    assert seen[-1] == (len(mirror.body), len(mirror.body))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["andorra-latest.osm.pbf"]


def test_bad_checksum_is_refused_and_nothing_is_left(mirror: Mirror, tmp_path: Path) -> None:
    mirror.md5 = "0" * 32
    with pytest.raises(FetchError, match="MD5"):
        fetch_extract(mirror.url, "europe/andorra", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bad_checksum_keeps_the_previous_good_file(mirror: Mirror, tmp_path: Path) -> None:
    good = fetch_extract(mirror.url, "europe/andorra", tmp_path).path
    mirror.md5 = hashlib.md5(b"a newer extract", usedforsecurity=False).hexdigest()  # bytes corrupted on the way
    with pytest.raises(FetchError, match="MD5"):
        fetch_extract(mirror.url, "europe/andorra", tmp_path)
    assert good.read_bytes() == ANDORRA.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["andorra-latest.osm.pbf"]


def test_unreachable_server_and_missing_extract(mirror: Mirror, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="404"):
        fetch_extract(mirror.url, "europe/atlantis", tmp_path)
    with pytest.raises(FetchError, match="injoignable"):
        fetch_extract("http://127.0.0.1:9", "europe/andorra", tmp_path, timeout_s=5)
    with pytest.raises(FetchError, match="invalide"):
        extract_url(mirror.url, "../etc/passwd")
    assert list(tmp_path.iterdir()) == []


def test_every_region_has_an_extract() -> None:
    assert len(REGION_EXTRACTS) == 18
    for code in ("01", "02", "03", "04", "06"):  # overseas Régions: one extract each
        (path,) = REGION_EXTRACTS[code]
        assert path.startswith("europe/france/")
    assert REGION_EXTRACTS["53"] == ("europe/france/bretagne",)


def test_cli_prints_the_path(mirror: Mirror, tmp_path: Path) -> None:
    from scripts.cli import app

    env = {"ATLAS_OSM_MIRROR": mirror.url, "ATLAS_VAR_DIR": str(tmp_path)}
    result = CliRunner().invoke(app, ["network", "fetch", "--extract", "europe/andorra"], env=env)
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path == tmp_path / "osm" / "andorra-latest.osm.pbf"
    assert path.read_bytes() == mirror.body
    result = CliRunner().invoke(app, ["network", "fetch", "--region", "99"], env=env)
    assert result.exit_code == 2
    assert "Région '99' inconnue" in result.output
    mirror.md5 = "f" * 32
    (tmp_path / "osm" / "andorra-latest.osm.pbf").unlink()
    result = CliRunner().invoke(app, ["network", "fetch", "--extract", "europe/andorra"], env=env)
    assert result.exit_code == 1
    assert "MD5" in result.output
    assert list((tmp_path / "osm").iterdir()) == []


def test_cli_fetches_every_extract_of_a_region_and_prints_their_paths(mirror: Mirror, tmp_path: Path) -> None:
    """Normandie (28) is two former Régions on Geofabrik: both are downloaded and checked,
    and standard output is their two paths, nothing else (``atlas network load $(…)``)."""
    west, east = tmp_path / "west.osm.pbf", tmp_path / "east.osm.pbf"
    split_by_longitude(ANDORRA, tmp_path, complete=True)
    mirror.others = {
        "europe/france/basse-normandie-latest.osm.pbf": west.read_bytes(),
        "europe/france/haute-normandie-latest.osm.pbf": east.read_bytes(),
    }
    assert REGION_EXTRACTS["28"] == ("europe/france/basse-normandie", "europe/france/haute-normandie")
    var = tmp_path / "var"
    env = {"ATLAS_OSM_MIRROR": mirror.url, "ATLAS_VAR_DIR": str(var)}
    result = CliRunner().invoke(app_for_test(), ["network", "fetch", "--region", "28"], env=env)
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert paths == [var / "osm" / "basse-normandie-latest.osm.pbf", var / "osm" / "haute-normandie-latest.osm.pbf"]
    assert paths[0].read_bytes() == west.read_bytes() and paths[1].read_bytes() == east.read_bytes()
    assert "2 extraits" in result.stderr and "osmium" not in result.output
    # The printed paths load as one network: the graph of the whole extract.
    whole = graph_from_osm_file(ANDORRA, mode="drive", crs="EPSG:2154")
    merged = graph_from_osm_file(paths, mode="drive", crs="EPSG:2154")
    assert (merged.n_nodes, merged.n_edges) == (whole.n_nodes, whole.n_edges)
    # A failure on the second extract prints no path at all (a script gets nothing half-done).
    mirror.others.pop("europe/france/haute-normandie-latest.osm.pbf")
    paths[1].unlink()
    result = CliRunner().invoke(app_for_test(), ["network", "fetch", "--region", "28"], env=env)
    assert result.exit_code == 1 and result.stdout == ""
    assert "haute-normandie" in result.stderr and "404" in result.stderr


def app_for_test() -> typer.Typer:
    from scripts.cli import app

    return app
