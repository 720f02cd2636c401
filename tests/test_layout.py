"""The source tree is installable as it is laid out (pyproject's packages.find)."""

from __future__ import annotations

from settings import PROJECT_ROOT


def test_every_source_folder_is_a_package() -> None:
    """A folder of modules without __init__.py imports from a checkout (namespace package) but
    is left out of an installed copy (the Docker image): every one must be a package."""
    folders = {
        path.parent for top in ("geo", "storage", "webapp", "scripts") for path in (PROJECT_ROOT / top).rglob("*.py")
    }
    missing = sorted(str(f.relative_to(PROJECT_ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert len(folders) >= 8
    assert missing == []
