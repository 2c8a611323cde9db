"""A benchmark's own database, dropped and made again on every run, on the server of a
DATABASE_URL (imported by the scripts beside it: Python puts bench/ on the path)."""

from urllib.parse import urlunsplit


def recreate_database(server, name):
    """Drop and create database ``name`` on ``server`` (a urlsplit PostgreSQL URL); its URL."""
    import psycopg

    with psycopg.connect(
        host=server.hostname,
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        dbname="postgres",
    ) as conn:
        conn.autocommit = True
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit((server.scheme, server.netloc, f"/{name}", "", ""))
