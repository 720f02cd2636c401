"""Privacy: the server's logs never hold a searched place, a coordinate or a client address.

Runs the real ``atlas serve`` (gunicorn) on a loopback port, sends public searches with
distinctive values, stops it and reads everything it wrote.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from settings import PROJECT_ROOT

SEARCHES = (
    "/?q=Plougastel-Daoulas",
    "/?q=29470",
    "/?lat=48.37123&lon=-4.37456",
    "/api/nearest?lat=48.37123&lon=-4.37456",
    "/api/nearest?commune=29189&mission=conseil",
    "/api/communes?q=Plougastel-Daoulas",
    "/api/communes/29189/access",
)
SECRETS = ("Plougastel", "29470", "48.37", "4.374", "29189", "127.0.0.1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_logs_hold_no_searched_place_coordinate_or_address(accessed_db: str, tmp_path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": accessed_db}
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "scripts.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(base + "/api/health", timeout=2)  # noqa: S310
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.3)
            statuses = []
            for path in SEARCHES:
                try:
                    with urllib.request.urlopen(base + path, timeout=10) as response:  # noqa: S310
                        statuses.append(response.status)
                        assert "Set-Cookie" not in response.headers
                except urllib.error.HTTPError as error:
                    statuses.append(error.code)
            assert statuses[0] == 200
        finally:
            server.terminate()
            server.wait(timeout=30)
    # The server's own bind address is printed at start-up; everything else is checked.
    text = "\n".join(
        line for line in log.read_text().splitlines()
        if "istening at: http://127.0.0.1" not in line and "listening on http://127.0.0.1" not in line
        and not line.startswith("Atlas SPRO sur")
    )
    assert '"GET /' in text  # the access log is on: requests are logged, without their details
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], f"the server log holds {leaked}:\n{text}"
