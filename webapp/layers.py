"""Large layers served from memory: computed once per publication, kept gzip-compressed,
revalidated by ETag.

The white zones (``/api/gaps``: 45,000 rows, 47 MB of GeoJSON for the pilot), the
isochrones, the per-commune times and the other downloads took 0.2 to 2.5 s to build on
every request; an ``atlas serve`` worker runs one request at a time, so two clients looping
on them starved the finder (p50 4 → 117 ms). Decorated with :func:`published_layer`, a view
runs once per publication (``storage.publish``) and query string; its body is kept
gzip-compressed (level 1: 47 MB → 11 MB) in each worker's bounded cache (``LAYER_CACHE_MB``,
default 96) and answered:

- ``304 Not Modified`` when the client sends the ``ETag`` it holds (``If-None-Match``): the
  tag names the publication and the query, so it changes exactly when the data do;
- gzip-compressed (``Content-Encoding: gzip``) when the client accepts it, else inflated
  piece by piece as it is sent (:func:`_inflate`).

Every answer is read in one snapshot (``webapp.db.snapshot``): the body and its tag are of
the same publication. ``Cache-Control: no-cache``: browsers keep the body and revalidate.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response, make_response, request
from flask.typing import ResponseReturnValue

from webapp.cache import data_cache
from webapp.db import snapshot, snapshot_version

GZIP_LEVEL = 1
"""zlib level: 1 compresses the GeoJSON of the white zones 4.3 times in a third of level 6's time."""
KEPT_HEADERS = ("Content-Disposition",)


@dataclass(frozen=True)
class Layer:
    """One computed body: gzip bytes, media type, the headers worth keeping, the ETag."""

    gzipped: bytes
    mimetype: str
    headers: tuple[tuple[str, str], ...]
    etag: str

    def response(self, *, gzip_ok: bool) -> Response:
        body: bytes | Iterator[bytes] = self.gzipped if gzip_ok else _inflate(self.gzipped)
        response = Response(body, mimetype=self.mimetype)
        response.headers.extend(self.headers)
        if gzip_ok:
            response.headers["Content-Encoding"] = "gzip"
        _validators(response, self.etag)
        return response


def _inflate(gzipped: bytes, chunk: int = 1 << 18) -> Iterator[bytes]:
    """The body inflated piece by piece (256 KB of input at a time): the server sends each
    piece as it comes, other requests are served in between, and the whole inflated body
    (47 MB for the white zones) is never held in memory."""
    inflater = zlib.decompressobj(wbits=31)  # gzip container
    for start in range(0, len(gzipped), chunk):
        piece = inflater.decompress(gzipped[start : start + chunk])
        if piece:
            yield piece
    tail = inflater.flush()
    if tail:
        yield tail


def _validators(response: Response, etag: str) -> None:
    response.set_etag(etag)
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-cache"


def _etag(version: Any, key: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr((version, key)).encode()).hexdigest()[:32]


def accepts_gzip() -> bool:
    """Whether the client accepts a gzip-compressed body (``Accept-Encoding``)."""
    return request.accept_encodings["gzip"] > 0


def published_layer(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Serve ``view``'s 200 answers from the per-publication cache (see the module)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        cache = data_cache()
        key = (request.endpoint, tuple(sorted(kwargs.items())), tuple(sorted(request.args.items(multi=True))))
        with snapshot() as conn:
            version = snapshot_version(conn)
            etag = _etag(version, key)
            if request.if_none_match.contains(etag):
                not_modified = Response(status=304)
                _validators(not_modified, etag)
                return not_modified
            layer: Layer | None = cache.layer(key, version)
            if layer is None:
                response = make_response(view(*args, **kwargs))
                if response.status_code != 200:
                    return response
                headers = tuple((name, value) for name, value in response.headers.items() if name in KEPT_HEADERS)
                layer = Layer(gzip.compress(response.get_data(), GZIP_LEVEL), response.mimetype or "", headers, etag)
                cache.store_layer(key, version, layer, len(layer.gzipped))
        return layer.response(gzip_ok=accepts_gzip())

    return wrapper


__all__ = ["Layer", "accepts_gzip", "published_layer"]
