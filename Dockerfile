# Atlas SPRO web application, served by gunicorn against an existing PostGIS (DATABASE_URL).
# Wheels bundle GEOS, PROJ and GDAL: no system GIS library is needed.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROJ_NETWORK=OFF \
    PIP_NO_CACHE_DIR=1 \
    ATLAS_DATA_DIR=/app/data/bretagne \
    ATLAS_VAR_DIR=/tmp/atlas

WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
RUN pip install -r requirements.txt
COPY settings.py ./
COPY geo ./geo
COPY storage ./storage
COPY webapp ./webapp
COPY scripts ./scripts
COPY data ./data
RUN pip install --no-deps . && useradd --system --uid 10001 atlas
USER atlas

EXPOSE 8000
# The same server as `atlas serve` (webapp/gunicorn_conf.py: asgi worker, webapp.asgi). Privacy:
# the access log holds the route only (no client address, no query string, no searched place).
# One worker per core: WEB_CONCURRENCY (read by gunicorn) is the container's number of cores.
ENV ATLAS_ACCESS_LOG=- WEB_CONCURRENCY=2
CMD ["gunicorn", "--config", "python:webapp.gunicorn_conf", "--bind", "0.0.0.0:8000", "webapp.asgi:create_app()"]
