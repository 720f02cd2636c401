# Atlas SPRO — two commands do everything on a fresh Debian 12 machine:
#   make demo   set up, start the local PostGIS, load the Bretagne pilot, compute travel times
#               (OSM=bretagne.osm.pbf, else the Région's extract downloaded by atlas network fetch;
#               approximate when neither is there), serve http://127.0.0.1:5000
#   make test   set up, lint (ruff) and type-check (mypy), start the local PostGIS, run the whole test suite
# DATABASE_URL, when set, replaces the local cluster everywhere.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data/bretagne
REGION ?= 53

.PHONY: setup system-deps browser db-up db-down load refresh demo lint test clean

setup: system-deps $(VENV)/.installed

system-deps:
	@scripts/ensure-system-deps.sh

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

db-up: setup
	$(BIN)/atlas db up

db-down:
	$(BIN)/atlas db down

load: db-up
	$(BIN)/atlas load --region $(REGION) --data $(DATA)

# The whole chain in one publication (atlas refresh: load, networks, travel times, white zones).
# Travel times: from the OSM extract(s) given as OSM="a.osm.pbf [b.osm.pbf]"; else every extract of
# the Région that `atlas network fetch` downloads (resumed, MD5-checked; two or three for a Région
# Geofabrik cuts into former Régions, read as one network) when the network allows; else approximate
# (flagged), with one line saying why and how to get real times.
refresh: db-up
	@mkdir -p var; osm=(); \
	if [ -n "$(OSM)" ]; then \
	  for f in $(OSM); do osm+=(--osm "$$f"); done; \
	else \
	  echo "Téléchargement de l'extrait OpenStreetMap de la Région $(REGION) (Bretagne : environ 300 Mo)…"; \
	  paths=$$($(BIN)/atlas network fetch --region $(REGION) 2>var/osm-fetch.log) || paths=""; \
	  while IFS= read -r f; do [ -n "$$f" ] && osm+=(--osm "$$f"); done <<< "$$paths"; \
	  if [ $${#osm[@]} -eq 0 ]; then \
	    echo "Extrait OSM non téléchargé ($$(sed -n 's/^Erreur : //p' var/osm-fetch.log | tail -n 1)) : sans réseau OSM déjà chargé, temps APPROXIMATIFS ; pour des temps réels, make demo OSM=fichier.osm.pbf (voir README, « Real road network »)."; \
	  fi; \
	fi; \
	$(BIN)/atlas refresh --region $(REGION) --data $(DATA) "$${osm[@]}"

demo: refresh
	$(BIN)/atlas serve

browser:
	@scripts/ensure-browser.sh

# ruff (lint and format) and mypy, configured in pyproject.toml; any finding fails `make test`.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint db-up browser
	$(BIN)/pytest

clean:
	-$(BIN)/atlas db down
	rm -rf $(VENV) var .pytest_cache
