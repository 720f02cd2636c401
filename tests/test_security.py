"""Security hardening of the web application (SECURITY.md), against a real PostGIS.

Headers, methods, size limits, rate limit, errors without detail, SQL only through bound
parameters, escaping of untrusted data, property-based tests of every endpoint's
parameters (hypothesis) and the API against its own OpenAPI document (schemathesis,
in-process through the WSGI application).
"""

from __future__ import annotations

import ast
import logging
import re
import string
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import markupsafe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settings import PROJECT_ROOT
from tests.web_fixtures import (  # noqa: F401
    MALICIOUS_ID,
    MALICIOUS_NAME,
    ZONING_ID,
    web_app,
    web_client,
    web_db,
)

PAGES = (
    "/",
    "/?q=ploermel",
    "/?q=Vitre&commune=35360",
    "/a-propos",
    "/carte",
    "/diagnostic",
    "/diagnostic/rapport/2026",
    "/api/docs",
)
API = (
    "/api/health",
    "/api/nearest?commune=35238",
    "/api/communes?q=rennes",
    "/api/communes/35238",
    "/api/communes/35238/access",
    "/api/categories",
    "/api/indicators",
    "/api/territories",
    "/api/zonings",
    f"/api/zonings/{ZONING_ID}",
    "/api/isochrones",
    "/api/gaps?kind=white_zone",
    "/api/structures",
    "/api/access/communes?format=csv",
    "/api/openapi.json",
)
OTHERS = ("/static/css/atlas.css", "/static/js/common.js", "/nulle-part", "/api/nulle-part")


def _app(web_db: str, **config):
    from webapp import create_app

    return create_app({"DATABASE_URL": web_db, "TESTING": True, **config})


# ------------------------------------------------------------------- headers
@pytest.mark.parametrize("url", PAGES + API + OTHERS)
def test_security_headers_on_every_response(web_client, url: str) -> None:
    with web_client.get(url) as response:  # closes static files
        assert response.status_code in (200, 404), url
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "geolocation=(self)" in headers["Permissions-Policy"]
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS
    assert "Set-Cookie" not in headers


def test_hsts_only_over_https(web_db: str) -> None:
    app = _app(web_db)
    try:
        client = app.test_client()
        secure = client.get("/a-propos", base_url="https://atlas.example")
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "Strict-Transport-Security" not in client.get("/a-propos").headers
        # Behind a trusted reverse proxy, X-Forwarded-Proto says the visitor used HTTPS.
        behind = _app(web_db, TRUSTED_PROXIES=1).test_client()
        forwarded = behind.get("/a-propos", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        assert "Strict-Transport-Security" in forwarded.headers
        # Without trusted proxies the header is ignored.
        spoofed = client.get("/a-propos", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in spoofed.headers
    finally:
        app.extensions["atlas_pool"].close()


# ------------------------------------------------------------------- methods and sizes
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
@pytest.mark.parametrize(
    "url", ["/", "/carte", "/api/nearest?commune=35238", "/api/communes/35238", "/static/css/atlas.css"]
)
def test_only_get_and_head_are_allowed(web_client, method: str, url: str) -> None:
    response = web_client.open(url, method=method, data=b"x" * 10)
    assert response.status_code == 405, (method, url)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allowed and not allowed - {"GET", "HEAD"}
    if url.startswith("/api/"):
        assert response.is_json and response.get_json()["message"].startswith("Méthode non autorisée")


def test_head_is_answered_without_body(web_client) -> None:
    response = web_client.head("/api/nearest?commune=35238")
    assert response.status_code == 200 and response.data == b""


def test_long_urls_and_large_bodies_are_refused(web_client) -> None:
    response = web_client.get("/api/nearest?commune=35238&" + "x=1&" * 600)
    assert response.status_code == 414 and response.is_json
    assert response.get_json()["message"] == "Adresse (URL) trop longue."
    page = web_client.get("/?q=" + "a" * 3000)
    assert page.status_code == 414 and "trop longue" in page.get_data(as_text=True)
    assert web_client.get("/" + "a" * 3000).status_code == 414
    big = web_client.get("/api/health", data=b"x" * (64 * 1024 + 1), headers={"Content-Type": "text/plain"})
    assert big.status_code == 413 and big.is_json


# ------------------------------------------------------------------- rate limit
def test_rate_limit_is_off_in_tests_and_on_by_default(web_db: str) -> None:
    testing = _app(web_db)
    assert testing.config["RATELIMIT_ENABLED"] is False
    from webapp import create_app

    default = create_app({"DATABASE_URL": web_db})
    try:
        assert default.config["RATELIMIT_ENABLED"] is True and default.config["RATELIMIT_API"] == "300/minute"
        assert default.config["RATELIMIT_STORAGE_URI"] == "memory://"
    finally:
        default.extensions["atlas_pool"].close()
        testing.extensions["atlas_pool"].close()


def test_api_rate_limit_answers_429_json_with_retry_after(web_db: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    app = _app(web_db, RATELIMIT_ENABLED=True, RATELIMIT_API="5/minute")
    try:
        client = app.test_client()
        visitor = {"REMOTE_ADDR": "198.51.100.23"}
        statuses = [client.get("/api/categories", environ_base=visitor).status_code for _ in range(5)]
        assert statuses == [200] * 5
        refused = client.get("/api/nearest?commune=35238", environ_base=visitor)
        assert refused.status_code == 429 and refused.is_json
        body = refused.get_json()
        assert body["error"] == "Too Many Requests" and body["message"].startswith("Trop de requêtes")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
        # Another client is counted apart; pages are not limited.
        assert client.get("/api/categories", environ_base={"REMOTE_ADDR": "198.51.100.24"}).status_code == 200
        assert client.get("/a-propos", environ_base=visitor).status_code == 200
        assert "198.51.100.23" not in caplog.text  # the address is never logged
    finally:
        app.extensions["atlas_pool"].close()


def test_malformed_rate_limit_fails_at_start_up(web_db: str) -> None:
    with pytest.raises(ValueError):
        _app(web_db, RATELIMIT_API="beaucoup par minute")
    app = _app(web_db, RATELIMIT_API="off", RATELIMIT_ENABLED=True)
    try:
        assert app.config["RATELIMIT_ENABLED"] is False
    finally:
        app.extensions["atlas_pool"].close()


# ------------------------------------------------------------------- errors
SECRET = "29189 48.37123 Plougastel"


def test_unexpected_errors_show_no_detail_and_log_no_value(web_db: str, caplog) -> None:
    app = _app(web_db, PROPAGATE_EXCEPTIONS=False)

    def boom(code: str = "") -> str:
        raise RuntimeError(f"boom with {SECRET} {code}")

    app.add_url_rule("/api/boom/<code>", "api_boom", boom)
    app.add_url_rule("/boom/<code>", "boom", boom)
    caplog.set_level(logging.DEBUG)
    try:
        client = app.test_client()
        api = client.get("/api/boom/29189?lat=48.37123")
        assert api.status_code == 500 and api.is_json
        assert api.get_json() == {"error": "Internal Server Error", "message": api.get_json()["message"]}
        assert api.get_json()["message"].startswith("Erreur interne du serveur")
        page = client.get("/boom/29189")
        text = page.get_data(as_text=True)
        assert page.status_code == 500 and '<html lang="fr">' in text and "Erreur interne du serveur" in text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
        for answer in (api.get_data(as_text=True), text):
            assert "Traceback" not in answer and "boom" not in answer and "RuntimeError" not in answer
            assert "29189" not in answer and "48.37" not in answer
        logged = caplog.text
        assert "RuntimeError" in logged and "/api/boom/<code>" in logged  # the operators know where
        assert "29189" not in logged and "48.37" not in logged and "Plougastel" not in logged
    finally:
        app.extensions["atlas_pool"].close()


def test_http_errors_are_in_french(web_client) -> None:
    missing = web_client.get("/api/nulle-part")
    assert missing.status_code == 404 and missing.get_json()["message"] == "Page introuvable."
    page = web_client.get("/nulle-part").get_data(as_text=True)
    assert "Page introuvable." in page and "requested URL" not in page


# ------------------------------------------------------------------- SQL only through parameters
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM|COPY|CREATE|DROP|ALTER)\b")
EXECUTORS = {"execute", "executemany", "copy"}


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    constants: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = node.value
    return constants


def _is_sql_composition(node: ast.expr) -> bool:
    """``sql.SQL(...)``, ``psycopg.sql.SQL(...)``, ``sql.Identifier``... and their ``.format``/``.join``/``+``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        func = node.func
        if func.attr in ("SQL", "Identifier", "Literal", "Placeholder", "Composed"):
            return True
        if func.attr in ("format", "join"):
            return _is_sql_composition(func.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_sql_composition(node.left) or _is_sql_composition(node.right)
    return False


ALLOWED_STATEMENTS = {
    ("storage/migrate.py", "migration.sql"): "the versioned SQL files of storage/migrations, applied in order",
}


def _problems(node: ast.expr, constants: dict[str, ast.expr], local: dict[str, ast.expr], depth: int = 0) -> list[str]:
    """Why ``node``, the statement given to execute(), might splice a value into SQL (empty: fine).

    A name bound to a parameter of the enclosing function is reported as ``param:<name>``
    and checked at the function's call sites.
    """
    if depth > 5:
        return []
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.List | ast.Tuple):
        return [p for element in node.elts for p in _problems(element, constants, local, depth + 1)]
    if isinstance(node, ast.Name):
        if node.id in local:
            bound = local[node.id]
            if isinstance(bound, ast.arg):
                return [f"param:{node.id}"]
            return _problems(bound, constants, local, depth + 1)
        if node.id.lstrip("_").isupper():
            return _fragment_problems(constants.get(node.id), constants)
        return [f"statement from an unknown name {node.id!r}"]
    if _is_sql_composition(node):
        inner = [
            a
            for a in ast.walk(node)
            if isinstance(a, ast.Call) and isinstance(a.func, ast.Attribute) and a.func.attr == "SQL"
        ]
        return [p for call in inner for arg in call.args for p in _fragment_problems(arg, constants)]
    if isinstance(node, ast.JoinedStr):
        return ["f-string given to execute()"]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return ["% formatting given to execute()"]
    if isinstance(node, ast.BinOp):
        return ["string concatenation given to execute()"]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return ["str.format given to execute()"]
    return [f"unrecognised statement {ast.unparse(node)[:60]!r}"]


def _locals(function: ast.FunctionDef) -> dict[str, ast.AST]:
    """What each local name of ``function`` is bound to (parameters, assignments, dict loops)."""
    local: dict[str, ast.AST] = {a.arg: a for a in [*function.args.args, *function.args.kwonlyargs]}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                local[target.id] = node.value
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Call):
                for element in target.elts:  # query, params = some_query(...): checked where it is built
                    if isinstance(element, ast.Name):
                        local[element.id] = ast.Constant(value="")
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Tuple) and len(node.target.elts) == 2:
            source = node.iter  # for name, query in {...}.items() / in a_dict.items()
            if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute) and source.func.attr == "items":
                mapping = source.func.value
                if isinstance(mapping, ast.Name):
                    mapping = local.get(mapping.id, mapping)
                value = node.target.elts[1]
                if isinstance(mapping, ast.Dict) and isinstance(value, ast.Name):
                    local[value.id] = ast.List(elts=list(mapping.values), ctx=ast.Load())
    return local


def _fragment_problems(node: ast.expr | None, constants: dict[str, ast.expr]) -> list[str]:
    """A SQL text may be an f-string only when it interpolates module-level UPPER_CASE constants."""
    if node is None or isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Name):
        return [] if node.id.lstrip("_").isupper() else [f"SQL text from variable {node.id!r}"]
    if isinstance(node, ast.JoinedStr):
        problems = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                value = part.value
                if not (isinstance(value, ast.Name) and value.id.lstrip("_").isupper()):
                    problems.append(f"f-string interpolates {ast.unparse(value)!r} into SQL")
        return problems
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _fragment_problems(node.left, constants) + _fragment_problems(node.right, constants)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return ["% formatting builds SQL text"]
    return [f"SQL text built by {ast.unparse(node)[:60]!r}"]


@dataclass(frozen=True)
class _Module:
    """One parsed module of the scan: its path, constants, functions and their locals."""

    relative: str
    constants: dict[str, ast.expr]
    functions: dict[str, ast.FunctionDef]
    locals_of: dict[str, dict[str, ast.AST]]
    imported: set[str]


def _module(path: Path, root: Path = PROJECT_ROOT) -> _Module:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
    return _Module(
        relative=path.relative_to(root).as_posix(),
        constants=_module_constants(tree),
        functions=functions,
        locals_of={name: _locals(f) for name, f in functions.items()},
        imported={
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        },
    )


def _sql_problems(path: Path, root: Path = PROJECT_ROOT, project: list[_Module] | None = None) -> list[str]:
    """Problems of one module; a statement given as a parameter is checked at every call site
    of its function, in this module or in any module of ``project`` (shared helpers such as
    ``storage.common.read_frame``)."""
    module = _module(path, root)
    modules = [module, *[m for m in project or [] if m.relative != module.relative]]
    relative, constants, functions, locals_of = module.relative, module.constants, module.functions, module.locals_of
    problems = []
    # Module-level SQL texts: only constant fragments may be interpolated.
    for name, value in constants.items():
        if isinstance(value, ast.JoinedStr) and SQL_WORDS.search(ast.unparse(value)):
            problems += [f"{relative}: {name}: {p}" for p in _fragment_problems(value, constants)]
    for fname, function in functions.items():
        local = locals_of[fname]
        for node in ast.walk(function):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in EXECUTORS
                and node.args
            ):
                continue
            where = f"{relative}:{node.lineno}"
            if (relative, ast.unparse(node.args[0])) in ALLOWED_STATEMENTS:
                continue
            for problem in _problems(node.args[0], constants, local):
                if not problem.startswith("param:"):
                    problems.append(f"{where}: {problem}")
                    continue
                # The statement is a parameter: check what every caller passes.
                param = problem.split(":", 1)[1]
                names = [a.arg for a in function.args.args]
                index = names.index(param) if param in names else None
                calls = [
                    (other, caller, c)
                    for other in modules
                    for caller, f in other.functions.items()
                    for c in ast.walk(f)
                    if isinstance(c, ast.Call)
                    and (
                        (
                            isinstance(c.func, ast.Name)
                            and c.func.id == fname
                            and (other is module or fname in _imported(other))
                        )
                        or (isinstance(c.func, ast.Attribute) and c.func.attr == fname and other is not module)
                    )
                ]
                if not calls:
                    problems.append(f"{where}: statement parameter {param!r} of {fname}() never checked")
                for other, caller, call in calls:
                    given_arg = next((k.value for k in call.keywords if k.arg == param), None)
                    if given_arg is None and index is not None and index < len(call.args):
                        given_arg = call.args[index]
                    if given_arg is None:
                        continue
                    problems += [
                        f"{other.relative}:{call.lineno}: {p}"
                        for p in _problems(given_arg, other.constants, other.locals_of[caller])
                    ]
    return problems


def _imported(module: _Module) -> set[str]:
    """Names a module imports with ``from x import name``."""
    return module.imported


def test_sql_is_only_built_from_constants_and_bound_parameters() -> None:
    """No f-string, ``%`` or ``str.format`` builds a statement in webapp/ and storage/;
    psycopg.sql composition is allowed, and SQL texts interpolate only UPPER_CASE constants."""
    files = sorted((PROJECT_ROOT / "webapp").rglob("*.py")) + sorted((PROJECT_ROOT / "storage").rglob("*.py"))
    assert len(files) > 10
    project = [_module(path) for path in files]
    problems = [p for path in files for p in _sql_problems(path, project=project)]
    assert problems == []


def test_the_sql_checker_catches_injections(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def a(conn, name):\n    conn.execute(f\"SELECT * FROM t WHERE n = '{name}'\")\n"
        "def b(conn, name):\n    conn.execute(\"SELECT * FROM t WHERE n = '%s'\" % name)\n"
        "def c(conn, name):\n    q = \"SELECT * FROM t WHERE n = '{}'\".format(name)\n    conn.execute(q)\n"
        'def d(conn, name):\n    conn.execute(sql.SQL(f"SELECT * FROM {name}"))\n'
        'def e(conn, name):\n    conn.execute("SELECT * FROM t WHERE n = " + name)\n'
        "def ok(conn, name):\n    conn.execute(sql.SQL('SELECT * FROM {}').format(sql.Identifier(name)), (1,))\n"
        "def run(conn, query):\n    conn.execute(query)\n"
        "def f(conn, name):\n    run(conn, 'SELECT 1')\n    run(conn, f'SELECT {name}')\n",
        encoding="utf-8",
    )
    problems = _sql_problems(bad, root=tmp_path)
    assert [p.split(":")[1] for p in problems] == ["2", "4", "7", "9", "11", "18"], problems
    # A shared helper taking a statement is checked at its call sites in other modules too.
    helper = tmp_path / "helper.py"
    helper.write_text("def read_frame(conn, query):\n    conn.execute(query)\n", encoding="utf-8")
    caller = tmp_path / "caller.py"
    caller.write_text(
        "from helper import read_frame\n"
        "def g(conn, name):\n    read_frame(conn, 'SELECT 1')\n    read_frame(conn, f'SELECT {name}')\n",
        encoding="utf-8",
    )
    project = [_module(path, tmp_path) for path in (helper, caller)]
    problems = _sql_problems(helper, root=tmp_path, project=project)
    assert [p.split(":")[:2] for p in problems] == [["caller.py", "4"]], problems


# ------------------------------------------------------------------- escaping
def test_untrusted_names_are_text_in_every_page(web_client) -> None:
    escaped = str(markupsafe.escape(MALICIOUS_NAME))
    for url in ("/?q=Vitre&commune=35360&mission=accueil", "/?commune=35360&jour=samedi"):
        page = web_client.get(url).get_data(as_text=True)
        assert escaped in page and f'data-name="{escaped}"' in page, url
        assert "<script>alert" not in page and "<img src=x" not in page and '"><img' not in page
    for url in ("/carte", "/diagnostic", "/diagnostic/rapport/2026", "/a-propos"):
        page = web_client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
    # The API gives the data as they are (JSON-escaped): escaping is the page's job.
    data = web_client.get("/api/nearest?commune=35360&day=samedi&limit=50").get_json()
    assert MALICIOUS_NAME in [r["name"] for r in data["results"]]
    raw = web_client.get("/api/structures").get_data(as_text=True)
    assert "</script>" not in raw.replace("<\\/script>", "") or raw.count(MALICIOUS_ID) == 1


def test_map_scripts_build_popups_as_text() -> None:
    """Leaflet popups and tooltips take HTML strings: ours take DOM nodes built with textContent."""
    scripts = sorted((PROJECT_ROOT / "webapp" / "static" / "js").glob("*.js"))
    assert scripts
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.DOTALL)  # comments may name the sinks
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setContent(",
        ):
            assert sink not in code, (script.name, sink)
        for call in re.findall(r"bind(?:Popup|Tooltip)\(\s*([^)]{0,20})", code):
            assert call.startswith("function"), (script.name, call)
        assert re.findall(r"html:\s*([^,}]+)", code) in ([], ["''"]), script.name


def test_templates_never_disable_escaping() -> None:
    for template in (PROJECT_ROOT / "webapp" / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template.name
        assert "Markup(" not in text, template.name


# ------------------------------------------------------------------- property-based (hypothesis)
NASTY = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, max_size=40),
    st.sampled_from(
        [
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "1e308",
            "-1e308",
            "1e999",
            "-0",
            "0x10",
            "١٢",
            "٣٥٢٣٨",
            "35238",
            "2A004",
            "2a004",
            "99999",
            "00000",
            "-1",
            "0",
            "51",
            "9" * 30,
            "1.5",
            "48,11",
            " 10 ",
            "'; DROP TABLE commune; --",
            "<script>alert(1)</script>",
            "%00",
            "\x00",
            "ab\x00c",
            "Ren\x00nes",
            "\u202e",
            "𝟑𝟓𝟐𝟑𝟖",
            "drive",
            "walk",
            "conseil",
            "jeunes",
            "samedi",
            "any",
            "mission:conseil",
            "region",
            "epci",
            f"zone:{ZONING_ID}",
            "csv",
            "geojson",
            "json",
            "white_zone",
            "no_choice",
            "30",
            "15",
        ]
    ),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
ENDPOINTS = {
    "/": ("q", "commune", "lat", "lon", "mission", "public", "jour", "mode", "choix"),
    "/a-propos": (),
    "/carte": (),
    "/diagnostic": ("level", "mode", "category"),
    "/api/health": (),
    "/api/structures": ("partner_type", "mission", "public", "day", "format"),
    "/api/nearest": ("commune", "lat", "lon", "mission", "public", "day", "mode", "limit"),
    "/api/communes": ("q", "limit"),
    "/api/categories": (),
    "/api/access/communes": ("mode", "category", "format"),
    "/api/indicators": ("level", "mode", "category", "format"),
    "/api/territories": ("level",),
    "/api/zonings": (),
    "/api/isochrones": ("mode", "minutes", "structure_id"),
    "/api/gaps": ("kind", "mode", "category", "format"),
    "/api/snapshots": (),
    "/api/snapshots/2026": ("level", "mode", "category", "format"),
    "/api/snapshots/2026/changes": ("format", "mode", "category"),
}
PATH_TEMPLATES = (
    "/api/communes/{}",
    "/api/communes/{}/access",
    "/api/zonings/{}",
    "/diagnostic/rapport/{}",
    "/api/snapshots/{}",
    "/api/snapshots/{}/changes",
)
ALLOWED_STATUSES = {200, 400, 404, 405, 414, 429}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(response, path: str) -> None:
    assert response.status_code in ALLOWED_STATUSES, (path, response.status_code, response.get_data(as_text=True)[:300])
    if path.startswith("/api/"):
        if response.status_code != 200:
            assert response.is_json and response.get_json()["message"], path
    elif response.status_code != 200:
        assert 'role="alert"' in response.get_data(as_text=True), path


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_any_query_string_gives_a_clean_answer(web_app, endpoint: str) -> None:
    names = ENDPOINTS[endpoint]
    known = st.dictionaries(st.sampled_from(names), NASTY, max_size=len(names)) if names else st.just({})
    extra = st.dictionaries(st.text(min_size=1, max_size=8), NASTY, max_size=1)
    client = web_app.test_client()

    @FUZZ
    @given(known=known, extra=st.one_of(st.just({}), extra))
    def run(known: dict[str, str], extra: dict[str, str]) -> None:
        query = urlencode({**extra, **known})
        _check(client.get(f"{endpoint}?{query}"), endpoint)

    run()


@pytest.mark.parametrize("template", PATH_TEMPLATES)
def test_any_path_value_gives_a_clean_answer(web_app, template: str) -> None:
    client = web_app.test_client()

    @FUZZ
    @given(value=NASTY.filter(lambda v: v.strip("./") != ""))
    def run(value: str) -> None:
        path = template.format(quote(value, safe=""))
        _check(client.get(path), path)

    run()


# ------------------------------------------------------------------- schemathesis
def test_api_conforms_to_its_openapi_document(web_app) -> None:
    """Every documented operation, in-process (WSGI): no 5xx, statuses, content types and
    bodies as documented, 405 with Allow for other methods (bounded: about 40 s)."""
    import schemathesis
    from schemathesis.checks import load_all_checks
    from schemathesis.specs.openapi import checks as openapi_checks

    load_all_checks()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", web_app)
    excluded = [
        # Valid values of some parameters depend on the loaded data (category codes, partner types)
        # or on each other ("commune" or "lat"+"lon"): a 400 for schema-valid input is documented.
        openapi_checks.positive_data_acceptance,
    ]
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16 + 3 + 2  # + the three /api/snapshots and two /api/scenarios operations

    def runner(operation):
        @settings(
            max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            # In-process WSGI has no HTTP client to inflate gzip bodies (webapp.layers): ask for none.
            case.call_and_validate(headers={"Accept-Encoding": "identity"}, excluded_checks=excluded)

        return run

    for operation in operations:
        try:
            runner(operation)()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert failures == [], "\n\n".join(failures)
