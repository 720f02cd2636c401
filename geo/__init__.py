"""Pure geospatial core of Atlas SPRO.

Functions here read and validate sources and compute on GeoDataFrames / numpy arrays.
They never touch the database, Flask or environment variables, so they are testable alone.
"""
