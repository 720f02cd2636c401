"""Privacy: the server's logs never hold a searched place, a coordinate or a client address.

Runs the real ``atlas serve`` (gunicorn) on a loopback port, sends public searches with
distinctive values, stops it and reads everything it wrote.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.conftest import served

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


def test_logs_hold_no_searched_place_coordinate_or_address(accessed_db: str, tmp_path) -> None:
    log = tmp_path / "serve.log"
    with served(accessed_db, log) as port:
        base = f"http://127.0.0.1:{port}"
        statuses = []
        for path in SEARCHES:
            try:
                with urllib.request.urlopen(base + path, timeout=10) as response:
                    statuses.append(response.status)
                    assert "Set-Cookie" not in response.headers
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
        assert statuses[0] == 200
    # The server's own bind address is printed at start-up; everything else is checked.
    text = "\n".join(
        line
        for line in log.read_text().splitlines()
        if "istening at: http://127.0.0.1" not in line
        and "listening on http://127.0.0.1" not in line
        and not line.startswith("Atlas SPRO sur")
    )
    assert '"GET /' in text  # the access log is on: requests are logged, without their details
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], f"the server log holds {leaked}:\n{text}"
