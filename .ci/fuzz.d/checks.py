"""Schemathesis hooks for Herald (loaded through SCHEMATHESIS_HOOKS).

`refused_requests_change_nothing`: a request Herald answers with 4xx must leave the database as
it was. Before every call the state of the tenant-visible tables is fingerprinted straight from
the SQLite file (HERALD_FUZZ_DB); after a refused call it is compared. Columns that change on
their own (token `last_used_at`, written off the request path; sessions; login failures) are left
out, and so are the delivery engine's own writes (attempt rows, a delivery's state as it is
sent, each webhook's breaker and rate state in `delivery_flows`): of `deliveries` only the ids count, so a refused request that queued a delivery is still
caught. The run uses one worker, so calls never overlap.

The fuzzer's own token (HERALD_FUZZ_TOKEN_ID) is never revoked: `DELETE /tokens/{id}` aimed at
it is sent to an id that does not exist instead, or every later call would be a 401.
"""

import hashlib
import os
import sqlite3

import schemathesis

DB = os.environ["HERALD_FUZZ_DB"]
OWN_TOKEN_ID = os.environ["HERALD_FUZZ_TOKEN_ID"]
IGNORED_TABLES = {"sessions", "login_failures", "seaql_migrations", "delivery_attempts", "delivery_flows"}
ONLY_COLUMNS = {"deliveries": ["id"]}
IGNORED_COLUMNS = {("api_tokens", "last_used_at")}
_before: dict[int, str] = {}


def fingerprint() -> str:
    conn = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=10)
    try:
        digest = hashlib.sha256()
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            if table in IGNORED_TABLES:
                continue
            columns = ONLY_COLUMNS.get(table) or [
                r[1] for r in conn.execute(f'PRAGMA table_info("{table}")') if (table, r[1]) not in IGNORED_COLUMNS]
            listed = ", ".join(f'"{c}"' for c in columns)
            for row in conn.execute(f'SELECT {listed} FROM "{table}" ORDER BY rowid'):
                digest.update(repr((table, row)).encode())
        return digest.hexdigest()
    finally:
        conn.close()


@schemathesis.hook
def before_call(context, case, kwargs):
    params = case.path_parameters or {}
    if case.method.upper() == "DELETE" and case.path.endswith("/tokens/{id}") \
            and str(params.get("id")) == OWN_TOKEN_ID:
        params["id"] = 0
    if case.method.upper() != "GET":
        _before[id(case)] = fingerprint()


@schemathesis.check
def refused_requests_change_nothing(ctx, response, case):
    before = _before.pop(id(case), None)
    if before is None or not 400 <= response.status_code < 500:
        return None
    if fingerprint() != before:
        raise AssertionError(
            f"{case.method} {case.formatted_path} was refused with {response.status_code} "
            "but the database changed")
    return None
