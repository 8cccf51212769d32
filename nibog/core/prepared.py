"""Server-side prepared statements for the hot path's heaviest SQL (PostgreSQL only).

psycopg2 sends every statement as text, so PostgreSQL parses and plans it on every execution:
the hold's first read (seven tables) spent ~0.45 ms of the server's CPU planning for ~0.1 ms
executing. A statement carrying the execution option ``prepare=True`` is PREPAREd once per
database connection and EXECUTEd by name from then on; after five executions PostgreSQL keeps a
generic plan and plans no more. Only the text on the wire changes: the rows, their types and the
errors (a unique violation, a lock timeout) are the statement's own. One difference had to be
kept out: an integer too large for its parameter's type (a fuzzed id) fails an EXECUTE but is
merely unequal in the text, so such a call runs as text. And a migration that changes the
type of a column such a statement returns makes PostgreSQL refuse it on the connections that
prepared it: each fails once and is replaced (``_on_error``).

The PREPARE is made in a savepoint, so a statement PostgreSQL cannot prepare (an untyped
parameter) is remembered as such and simply runs as text, never failing the caller's
transaction. Prepared statements outlive transactions (a ROLLBACK keeps them) and die with the
connection; the names made on a connection are kept in its pool record's ``info``, which
SQLAlchemy clears when the connection is invalidated.

Off with ``DB_PREPARED_STATEMENTS=false`` behind a pooler that hands one client's transactions
to several server connections (PgBouncer in transaction mode): SQL-level PREPARE needs the
server session to stay the same. Left on there by mistake, the first EXECUTE that finds no such
statement fails its request and switches preparing off for the process, with a warning.
"""

from __future__ import annotations

import logging
import re
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Engine

OPTION = "prepare"
_INFO_KEY = "nibog_prepared"
# Statement texts differ by the number of values in an IN list; a connection prepares at most
# this many, and runs any further text unprepared.
MAX_PER_CONNECTION = 32
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
log = logging.getLogger(__name__)


def install(engine: Engine, enabled: bool) -> bool:
    """Serve ``prepare=True`` statements by name on this engine's connections; whether on."""
    if not enabled or engine.dialect.name != "postgresql" or engine.dialect.paramstyle != "pyformat":
        return False
    if not event.contains(engine, "before_cursor_execute", _by_name):
        event.listen(engine, "before_cursor_execute", _by_name, retval=True)
        event.listen(engine, "handle_error", _on_error)
    return True


# Engines whose server sessions turned out not to keep what was prepared (a transaction pooler
# the settings did not mention): they run every statement as text from then on.
_SWITCHED_OFF: weakref.WeakSet = weakref.WeakSet()


def _on_error(context) -> None:
    orig = context.original_exception
    code = getattr(orig, "pgcode", None)
    if code == "0A000" and "cached plan must not change result type" in str(orig):
        # A migration changed the type of a column a prepared statement returns: PostgreSQL
        # refuses it on this connection. The request fails once; the connection is dropped and
        # its replacement prepares the statement afresh.
        context.is_disconnect = True
    elif code == "26000" and (context.statement or "").startswith("EXECUTE nibog_p"):
        # The server session does not have what this connection prepared: a pooler in
        # transaction mode is in between (DB_PREPARED_STATEMENTS should be false there). One
        # request fails; this process then sends text only, and says so.
        if context.engine is not None and context.engine not in _SWITCHED_OFF:
            _SWITCHED_OFF.add(context.engine)
            log.warning("prepared statements switched off: the database session changed under "
                        "a connection (a pooler in transaction mode?); set "
                        "DB_PREPARED_STATEMENTS=false for it")
        context.is_disconnect = True


def _by_name(conn, cursor, statement, parameters, context, executemany):
    if (executemany or context is None or not context.execution_options.get(OPTION)
            or not isinstance(parameters, dict) or conn.engine in _SWITCHED_OFF):
        return statement, parameters
    made = conn.connection.info.setdefault(_INFO_KEY, {})
    entry = made.get(statement)
    if entry is None:
        if statement in made or len(made) >= MAX_PER_CONNECTION:
            return statement, parameters
        entry = made[statement] = _prepare(cursor, f"nibog_p{len(made) + 1}", statement)
        if entry is None:
            return statement, parameters
    execute, ranges = entry
    for name, low, high in ranges:
        value = parameters.get(name)
        if type(value) is int and not low <= value <= high:
            # As text, 2**40 = children.id is simply false; as an integer parameter it is an
            # error. Such a value (only ever a bad input) keeps the text's answer.
            return statement, parameters
    return execute, parameters


_INT_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}


def _prepare(cursor, name: str, statement: str) -> tuple[str, list] | None:
    """PREPARE ``statement`` as ``name``: the EXECUTE text taking the same parameters and the
    integer parameters' ranges; None when PostgreSQL refused it (the caller's transaction is
    left as it was)."""
    names = list(dict.fromkeys(_PLACEHOLDER.findall(statement)))
    position = {n: i for i, n in enumerate(names, 1)}
    # No parameters go with the PREPARE, so psycopg2 sends its text as is: %% back to %.
    body = _PLACEHOLDER.sub(lambda m: f"${position[m.group(1)]}", statement).replace("%%", "%")
    in_transaction = not cursor.connection.autocommit
    try:
        if in_transaction:
            cursor.execute("SAVEPOINT nibog_prepare")
        cursor.execute(f"PREPARE {name} AS {body}")
    except Exception:  # noqa: BLE001 - any refusal: the statement runs as text instead
        if in_transaction:
            cursor.execute("ROLLBACK TO SAVEPOINT nibog_prepare")
            cursor.execute("RELEASE SAVEPOINT nibog_prepare")
        return None
    if in_transaction:
        cursor.execute("RELEASE SAVEPOINT nibog_prepare")
    cursor.execute("SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = %s",
                   (name,))
    types = cursor.fetchone()[0] or []
    ranges = [(n, *_INT_RANGES[t]) for n, t in zip(names, types, strict=True) if t in _INT_RANGES]
    if not names:
        return f"EXECUTE {name}", ranges
    return f"EXECUTE {name}(" + ", ".join(f"%({n})s" for n in names) + ")", ranges
