"""`schemas/tables.py` mirrors the migrations: autogenerate would change nothing."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from schemas.tables import metadata, mirrored, posts

pytestmark = pytest.mark.integration


def test_autogenerate_finds_no_difference_between_tables_and_migrations(database: Engine) -> None:
    with database.connect() as connection:
        # the day partitions of `posts` are made at run time, not by a revision: left out
        context = MigrationContext.configure(connection, opts={"include_name": mirrored})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_the_mirror_carries_every_index_of_the_migrated_posts_table(database: Engine) -> None:
    migrated = {index["name"] for index in inspect(database).get_indexes("posts")}
    assert migrated == {index.name for index in posts.indexes}
