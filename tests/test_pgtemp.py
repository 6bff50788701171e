"""The throwaway PostgreSQL server the journal tests run on."""

from __future__ import annotations

import psycopg
from conftest import schema_url


def test_the_test_server_answers_on_loopback(pg_server: str) -> None:
    assert "@127.0.0.1:" in pg_server
    with psycopg.connect(schema_url(pg_server)) as conn:
        row = conn.execute("SELECT current_schema(), inet_server_addr()::text").fetchone()
    assert row is not None
    assert row[0].startswith("t_")
    assert row[1] == "127.0.0.1/32"
