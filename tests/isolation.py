"""Test runs never touch the user's data: they get their own database, topics, Redis db, ports.

`tests/conftest.py` calls `isolate(os.environ)` before anything builds a settings object, so
the settings built in the test process and every worker or dashboard process the tests start
(they inherit the environment) point at test-only names:

    MOODWATCH_DB_NAME             moodwatch_test_<pid>   (made fresh and migrated per session)
    MOODWATCH_REDIS_URL           the same server, db 15 (the user's live counters are in db 0)
    MOODWATCH_KAFKA_TOPIC         moodwatch-test-<pid>, and .dlq; group moodwatch-test-<pid>
    MOODWATCH_WORKER_METRICS_PORT 0 (off: never the demo's 9108)
    MOODWATCH_DASHBOARD_PORT      a free port (never the demo's 8501)

The pid keeps two sessions on one server (developers share it) apart. A value already in the
environment is kept only when it is clearly a test name (a database, topic or group name
containing "test" other than the user's, a Redis db other than 0, a port other than the
demo's); any other value is replaced and reported in pytest's header, so a shell that
exported the demo's settings cannot make a test write into the demo.
"""

import os
import re
import socket
import subprocess
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from schemas.settings import (
    DashboardSettings,
    DatabaseSettings,
    KafkaSettings,
    RedisSettings,
    WorkerSettings,
)

# What the user's own processes (`make run`) use: the settings' defaults.
USER_DB: str = DatabaseSettings.model_fields["name"].default
USER_REDIS_URL: str = RedisSettings.model_fields["url"].default
USER_TOPIC: str = KafkaSettings.model_fields["topic"].default
USER_DLQ_TOPIC: str = KafkaSettings.model_fields["dlq_topic"].default
USER_GROUP: str = KafkaSettings.model_fields["group_id"].default
USER_METRICS_PORT: int = WorkerSettings.model_fields["metrics_port"].default
USER_DASHBOARD_PORT: int = DashboardSettings.model_fields["port"].default
TEST_REDIS_DB = 15
NO_METRICS_URL = "http://127.0.0.1:1/metrics"  # nothing listens on port 1

DB_NAME = "MOODWATCH_DB_NAME"
REDIS_URL = "MOODWATCH_REDIS_URL"
TOPIC = "MOODWATCH_KAFKA_TOPIC"
DLQ_TOPIC = "MOODWATCH_KAFKA_DLQ_TOPIC"
GROUP_ID = "MOODWATCH_KAFKA_GROUP_ID"
METRICS_PORT = "MOODWATCH_WORKER_METRICS_PORT"
DASHBOARD_PORT = "MOODWATCH_DASHBOARD_PORT"
DASHBOARD_METRICS_URL = "MOODWATCH_DASHBOARD_METRICS_URL"

# Names this module generates: `<prefix><pid>` (a topic also `<prefix><pid>.dlq`).
SESSION_DB_PREFIX = "moodwatch_test_"
SESSION_KAFKA_PREFIX = "moodwatch-test-"


@dataclass(frozen=True)
class Isolation:
    """What `isolate` decided: the values set, the values refused, what the session owns."""

    values: dict[str, str]
    refused: dict[str, str] = field(default_factory=dict)
    owns_database: bool = False  # generated name: dropped at the end of the session
    owns_topics: bool = False

    def user_db(self) -> str:
        """The user's database: a refused override named it, else the default."""
        return self.refused.get(DB_NAME, USER_DB)

    def user_redis_url(self) -> str:
        return self.refused.get(REDIS_URL, USER_REDIS_URL)


def redis_db(url: str) -> int:
    """The database number of a redis:// URL (path `/n`, or `?db=n`; default 0)."""
    parts = urlsplit(url)
    match = re.search(r"(?:^|&)db=(\d+)", parts.query)
    if match:
        return int(match.group(1))
    path = parts.path.strip("/")
    return int(path) if path.isdigit() else 0


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    query = re.sub(r"(?:^|&)db=\d+", "", parts.query).lstrip("&")
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", query, parts.fragment))


def _test_name(value: str, *users: str) -> bool:
    return "test" in value.lower() and value not in users


def is_test_value(variable: str, value: str) -> bool:
    """Whether an explicit setting of `variable` clearly keeps the tests off the user's data."""
    if variable == DB_NAME:
        return _test_name(value, USER_DB)
    if variable in (TOPIC, DLQ_TOPIC, GROUP_ID):
        return _test_name(value, USER_TOPIC, USER_DLQ_TOPIC, USER_GROUP)
    if variable == REDIS_URL:
        try:
            return redis_db(value) != redis_db(USER_REDIS_URL)
        except ValueError:
            return False
    if variable == METRICS_PORT:
        return value.strip() != str(USER_METRICS_PORT)
    if variable == DASHBOARD_PORT:
        return value.strip() != str(USER_DASHBOARD_PORT)
    if variable == DASHBOARD_METRICS_URL:
        return f":{USER_METRICS_PORT}/" not in value
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def isolate(environ: MutableMapping[str, str], pid: int | None = None) -> Isolation:
    """Point `environ` at test-only names (see the module's docstring); returns the decision."""
    tag = str(pid if pid is not None else os.getpid())
    explicit_redis = environ.get(REDIS_URL, USER_REDIS_URL)
    defaults = {
        DB_NAME: f"{SESSION_DB_PREFIX}{tag}",
        REDIS_URL: with_redis_db(explicit_redis, TEST_REDIS_DB),
        TOPIC: f"{SESSION_KAFKA_PREFIX}{tag}",
        DLQ_TOPIC: f"{SESSION_KAFKA_PREFIX}{tag}.dlq",
        GROUP_ID: f"{SESSION_KAFKA_PREFIX}{tag}",
        METRICS_PORT: "0",
        DASHBOARD_PORT: str(free_port()),
    }
    values: dict[str, str] = {}
    refused: dict[str, str] = {}

    def choose(variable: str, default: str) -> None:
        """A test value given in the environment is kept; any other is refused and replaced."""
        given = environ.get(variable)
        if given is not None and is_test_value(variable, given):
            values[variable] = given
            return
        if given is not None:
            refused[variable] = given
        values[variable] = default

    for variable, default in defaults.items():
        choose(variable, default)
    metrics = int(values[METRICS_PORT] or 0)  # the metrics URL follows the port chosen above
    choose(
        DASHBOARD_METRICS_URL,
        f"http://127.0.0.1:{metrics}/metrics" if metrics else NO_METRICS_URL,
    )
    environ.update(values)
    # Test predictions cached in Redis db 15 need not outlive the session by a week.
    environ.setdefault("MOODWATCH_REDIS_CACHE_TTL_S", "3600")
    return Isolation(
        values=values,
        refused=refused,
        owns_database=values[DB_NAME] == defaults[DB_NAME],
        owns_topics=values[TOPIC] == defaults[TOPIC],
    )


# --- the session's database and topics -------------------------------------------------------


def superuser_psql(port: int, sql: str, database: str = "postgres") -> str:
    """Run SQL as the cluster's superuser (the `postgres` OS user, peer authentication)."""
    from devstack.common import is_root

    command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    command += ["-p", str(port), "-d", database]
    if is_root():
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, input=sql, text=True, check=True, capture_output=True)
    return done.stdout


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def drop_database(port: int, name: str) -> None:
    if name == USER_DB:
        raise AssertionError(f"refusing to drop the user's database {name!r}")
    superuser_psql(port, f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE);")


def _session_alive(tag: str) -> bool:
    """Whether the pytest session that generated names with this pid still runs."""
    try:
        with open(f"/proc/{tag}/cmdline", "rb") as cmdline:
            return b"pytest" in cmdline.read()
    except OSError:
        return False


def stale_session_databases(port: int) -> list[str]:
    """Databases generated by sessions that are gone (killed before their finaliser ran)."""
    names = superuser_psql(port, "SELECT datname FROM pg_database;").split()
    pattern = re.compile(rf"{SESSION_DB_PREFIX}(\d+)")
    found = [(name, pattern.fullmatch(name)) for name in names]
    return [name for name, m in found if m and not _session_alive(m.group(1))]


def stale_session_topics(topics: list[str]) -> list[str]:
    pattern = re.compile(rf"{re.escape(SESSION_KAFKA_PREFIX)}(\d+)(\.dlq)?")
    found = [(topic, pattern.fullmatch(topic)) for topic in topics]
    return [topic for topic, m in found if m and not _session_alive(m.group(1))]


# --- the user's data, counted before and after the session ----------------------------------

REPORT: list[str] = []  # lines for pytest's terminal summary


@dataclass(frozen=True)
class UserData:
    """The user's `posts` row count and Redis keys (with their expiry), at one moment."""

    database: str
    posts: int
    redis_url: str
    keys: dict[str, float | None]  # key -> when it expires (epoch seconds), None: never
    at: float  # epoch seconds
    note: str = ""  # what had to be done to count (e.g. the database was migrated)


def prepare_user_database(name: str) -> str:
    """Make the user's database countable the way `make migrate` would; say what was done.

    Missing database: created as `moodwatch services up` does (roles, owner, grants); no
    `posts` table: migrated to head as `moodwatch migrate` does. An existing table is left
    as it is.
    """
    from sqlalchemy import create_engine, text

    from devstack.postgres import provision
    from schemas.migrate import upgrade_to_head
    from schemas.settings import ServicesSettings

    db = DatabaseSettings(name=name)
    admin = create_engine(db.model_copy(update={"name": "postgres"}).url())
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
    finally:
        admin.dispose()
    notes = []
    if not exists:
        provision(ServicesSettings(db=db))
        notes.append(f"created database {name!r} (as `moodwatch services up` would)")
    engine = create_engine(db.url())
    try:
        with engine.connect() as connection:
            has_posts = connection.execute(text("SELECT to_regclass('public.posts')")).scalar()
    finally:
        engine.dispose()
    if has_posts is None:
        upgrade_to_head(db)
        notes.append(f"migrated {name!r} to head (as `make migrate` would): it had no posts table")
    return "; ".join(notes)


def count_user_data(database: str, redis_url: str, note: str = "") -> UserData:
    import time

    import redis
    from sqlalchemy import create_engine, text

    engine = create_engine(DatabaseSettings(name=database).url())
    try:
        with engine.connect() as connection:
            posts = int(connection.execute(text("SELECT count(*) FROM posts")).scalar_one())
    finally:
        engine.dispose()
    client = redis.Redis.from_url(redis_url)
    try:
        now = time.time()
        names = list(client.scan_iter(count=1000))
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.pttl(name)
        ttls = pipe.execute()
    finally:
        client.close()
    keys = {
        name.decode(errors="replace"): (now + ttl / 1000 if ttl >= 0 else None)
        for name, ttl in zip(names, ttls, strict=True)
        if ttl != -2  # expired between SCAN and PTTL
    }
    return UserData(database, posts, redis_url, keys, now, note)


def new_posts_by_source(database: str, since: float) -> list[tuple[str, str, int]]:
    """(source, kafka_topic, rows) of the posts processed since `since`: who wrote them."""
    from sqlalchemy import create_engine, text

    engine = create_engine(DatabaseSettings(name=database).url())
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT coalesce(source, '(none)'), kafka_topic, count(*) FROM posts"
                    " WHERE processed_at >= to_timestamp(:t) GROUP BY 1, 2 ORDER BY 3 DESC"
                    " LIMIT 20"
                ),
                {"t": since},
            ).all()
    finally:
        engine.dispose()
    return [(str(s), str(t), int(n)) for s, t, n in rows]


def summary(before: UserData, after: UserData) -> str:
    return (
        f"user data: {before.database}.posts {before.posts} -> {after.posts} rows, "
        f"Redis {before.redis_url} {len(before.keys)} -> {len(after.keys)} keys"
        + (f" ({before.note})" if before.note else "")
    )


def differences(before: UserData, after: UserData) -> list[str]:
    """What changed in the user's data between the two counts, in words (empty: nothing).

    A key that expired by itself (its TTL ran out) is not a change; any other key that
    appeared or disappeared is.
    """
    problems = []
    if after.posts != before.posts:
        writers = new_posts_by_source(before.database, before.at)
        problems.append(
            f"database {before.database!r}: posts went from {before.posts} to {after.posts} rows"
            f" during the test session; newly processed rows (source, topic, rows): {writers}"
            " (a `make run` demo running at the same time also adds rows)"
        )
    added = sorted(set(after.keys) - set(before.keys))
    removed = sorted(
        key
        for key, expires in before.keys.items()
        if key not in after.keys and (expires is None or expires > after.at + 1)
    )
    where = f"Redis {before.redis_url}"
    if added:
        problems.append(f"{where}: {len(added)} keys appeared, e.g. {added[:10]}")
    if removed:
        problems.append(f"{where}: {len(removed)} unexpired keys vanished, e.g. {removed[:10]}")
    return problems
