"""A Debian-managed PostgreSQL cluster on loopback, with the app and read-only roles."""

import json
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.common import (
    ServiceError,
    echo,
    failure,
    is_root,
    loopback_address,
    run_command,
    wait_until,
)
from schemas.settings import ServicesSettings

NAME = "postgres"
START_RETRY_S = 15.0
START_RETRY_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Cluster:
    port: int
    running: bool
    log_path: Path
    config_dir: Path


def find_cluster(settings: ServicesSettings) -> Cluster | None:
    listing = json.loads(run_command(["pg_lsclusters", "--json"], what="pg_lsclusters") or "[]")
    for entry in listing:
        if str(entry["version"]) == settings.pg_version and entry["cluster"] == settings.pg_cluster:
            return Cluster(
                port=int(entry["port"]),
                running=bool(entry["running"]),
                log_path=Path(entry["logfile"]),
                config_dir=Path(entry["configdir"]),
            )
    return None


def start_postgres(settings: ServicesSettings, *, wait: bool = True) -> None:
    """Create the cluster once, start it when down; with `wait`, await it and provision."""
    host, _ = loopback_address(settings.db.host, settings.db.port, what="db.host/db.port")
    cluster = find_cluster(settings) or _create_cluster(settings, host)
    if cluster.port != settings.db.port:
        raise ServiceError(
            f"postgres: cluster {_label(settings)} listens on port {cluster.port}, settings say "
            f"{settings.db.port}; set MOODWATCH_DB_PORT={cluster.port} or pick another pg_cluster"
        )
    if not cluster.running:
        _start_cluster(settings, cluster)
    if wait:
        await_postgres(settings, cluster.log_path)
        provision(settings)


def _start_cluster(settings: ServicesSettings, cluster: Cluster) -> None:
    echo(NAME, f"starting cluster {_label(settings)} on 127.0.0.1:{cluster.port}")
    # Just after a postmaster was killed, its leftovers (a zombie, exiting backends) can
    # hold the socket lock file for a moment, so a failed start is retried briefly.
    deadline = time.monotonic() + min(START_RETRY_S, settings.start_timeout_s)
    while True:
        try:
            run_command(
                ["pg_ctlcluster", settings.pg_version, settings.pg_cluster, "start"],
                what=f"pg_ctlcluster {_label(settings)} start",
                log_path=cluster.log_path,
            )
            return
        except ServiceError:
            now_running = (find_cluster(settings) or cluster).running  # started meanwhile?
            if now_running:
                return
            if time.monotonic() >= deadline:
                raise
        time.sleep(START_RETRY_INTERVAL_S)


def _create_cluster(settings: ServicesSettings, host: str) -> Cluster:
    if not is_root():
        raise failure("postgres: creating a cluster needs root (pg_createcluster)")
    echo(NAME, f"creating cluster {_label(settings)}")
    run_command(
        [
            "pg_createcluster",
            settings.pg_version,
            settings.pg_cluster,
            f"--port={settings.db.port}",
            # Explicit, so that the database does not inherit a SQL_ASCII default from
            # a bare container environment; texts carry emojis.
            "--locale=C.UTF-8",
            "--encoding=UTF8",
            # Started by `services up`, not at boot.
            "--start-conf=manual",
        ],
        what=f"pg_createcluster {_label(settings)}",
    )
    cluster = find_cluster(settings)
    if cluster is None:
        raise failure(f"postgres: pg_createcluster did not create {_label(settings)}")
    # Debian's default "localhost" also binds ::1; conf.d is read after postgresql.conf.
    # (--pgoption would write the address unquoted, which PostgreSQL rejects.)
    (cluster.config_dir / "conf.d" / "moodwatch.conf").write_text(f"listen_addresses = '{host}'\n")
    return cluster


def postgres_answers(settings: ServicesSettings) -> bool:
    try:
        run_command(_pg_isready(settings), what="pg_isready")
    except ServiceError:
        return False
    return True


def await_postgres(settings: ServicesSettings, log_path: Path) -> None:
    waited = wait_until(
        lambda: postgres_answers(settings),
        what="postgres",
        timeout_s=settings.start_timeout_s,
        log_path=log_path,
    )
    echo(NAME, f"ready ({waited:.1f}s)")


def provision(settings: ServicesSettings) -> None:
    """Create or update the roles and the database; safe to repeat.

    The SQL travels on stdin (never argv) and the session turns statement logging off,
    so that the passwords reach neither `ps` nor the server log.
    """
    db = settings.db
    secrets = [
        db.password.get_secret_value(),
        db.readonly_password.get_secret_value(),
        db.sentinel_password.get_secret_value(),
    ]
    _psql(settings, "postgres", _cluster_sql(settings), secrets)
    _psql(settings, db.name, _database_sql(settings), secrets)


def _cluster_sql(settings: ServicesSettings) -> str:
    db = settings.db
    app, ro, name = _ident(db.user), _ident(db.readonly_user), _ident(db.name)
    return "\n".join(
        [
            _QUIET_SESSION,
            _create_role_sql(db.user),
            f"ALTER ROLE {app} WITH LOGIN PASSWORD {_literal(db.password.get_secret_value())};",
            _create_role_sql(db.readonly_user),
            f"ALTER ROLE {ro} WITH LOGIN PASSWORD "
            f"{_literal(db.readonly_password.get_secret_value())};",
            # Belt and braces on top of the grants: its sessions cannot write at all.
            f"ALTER ROLE {ro} SET default_transaction_read_only = on;",
            # Reads every table, writes `alerts` only (grants: migration 0004).
            _create_role_sql(db.sentinel_user),
            f"ALTER ROLE {_ident(db.sentinel_user)} WITH LOGIN PASSWORD "
            f"{_literal(db.sentinel_password.get_secret_value())};",
            # CREATE DATABASE cannot run inside a DO block; \gexec runs it only when missing.
            f"SELECT {_literal(f'CREATE DATABASE {name} OWNER {app}')} WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = {_literal(db.name)})\\gexec",
            f"ALTER DATABASE {name} OWNER TO {app};",
            f"GRANT CONNECT ON DATABASE {name} TO {ro};",
            f"GRANT CONNECT ON DATABASE {name} TO {_ident(db.sentinel_user)};",
        ]
    )


def _database_sql(settings: ServicesSettings) -> str:
    db = settings.db
    app, ro = _ident(db.user), _ident(db.readonly_user)
    return "\n".join(
        [
            _QUIET_SESSION,
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
            f"GRANT USAGE ON SCHEMA public TO {ro};",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ro};",
            # Tables the app role (i.e. Alembic) creates later are readable too.
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {app} IN SCHEMA public "
            f"GRANT SELECT ON TABLES TO {ro};",
        ]
    )


def _create_role_sql(role: str) -> str:
    statement = _literal(f"CREATE ROLE {_ident(role)}")
    missing = f"NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(role)})"
    return f"SELECT {statement} WHERE {missing}\\gexec"


# Superuser-only settings: no statement text (with a password) in the server log,
# even when a statement fails.
_QUIET_SESSION = (
    "SET log_statement = 'none';\n"
    "SET log_min_error_statement = 'panic';\n"
    "SET log_min_duration_statement = -1;\n"
    "SET standard_conforming_strings = on;"
)


def _psql(settings: ServicesSettings, database: str, sql: str, secrets: list[str]) -> None:
    argv = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-p",
        str(settings.db.port),
        "-d",
        database,
    ]
    # Peer authentication over the Unix socket: the superuser is the `postgres` OS user.
    if is_root():
        argv = ["runuser", "-u", "postgres", "--", *argv]
    run_command(argv, what=f"psql provisioning of {database}", stdin_text=sql, secrets=secrets)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    """A standard-conforming SQL string literal (backslashes are plain characters)."""
    if "\x00" in value:
        raise ServiceError("postgres: a NUL character cannot appear in a role, name or password")
    return "'" + value.replace("'", "''") + "'"


def stop_postgres(settings: ServicesSettings, *, kill: bool = False) -> None:
    """Stop the cluster ("fast", or "immediate" with `kill`: a crash, recovered at start)."""
    cluster = find_cluster(settings)
    if cluster is None or not cluster.running:
        return
    echo(NAME, "killing" if kill else "stopping")
    run_command(
        [
            "pg_ctlcluster",
            f"--mode={'immediate' if kill else 'fast'}",
            settings.pg_version,
            settings.pg_cluster,
            "stop",
        ],
        what=f"pg_ctlcluster {_label(settings)} stop",
        log_path=cluster.log_path,
    )


def _pg_isready(settings: ServicesSettings) -> list[str]:
    return ["pg_isready", "-q", "-h", settings.db.host, "-p", str(settings.db.port), "-t", "2"]


def _label(settings: ServicesSettings) -> str:
    return f"{settings.pg_version}/{settings.pg_cluster}"
