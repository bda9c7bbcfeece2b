#!/usr/bin/env bash
# Provisions the read-only role for the dashboard and SQL users. The postgres image runs this
# once, when the data volume is first initialised (it may source the file rather than run it,
# so it neither changes shell options nor exits). The `migrate` service then grants the role
# SELECT on the tables Alembic creates; this script only makes the role and lets it connect.
# The password travels in a psql variable on stdin, never on a command line.
: "${MOODWATCH_DB_READONLY_USER:=moodwatch_ro}"
: "${MOODWATCH_DB_READONLY_PASSWORD:?set MOODWATCH_DB_READONLY_PASSWORD}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set ro_user="$MOODWATCH_DB_READONLY_USER" \
  --set ro_password="$MOODWATCH_DB_READONLY_PASSWORD" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'ro_user') AS ro_missing \gset
\if :ro_missing
  CREATE ROLE :"ro_user" LOGIN;
\endif
ALTER ROLE :"ro_user" WITH LOGIN PASSWORD :'ro_password';
-- Belt and braces on top of the grants: its sessions cannot write at all.
ALTER ROLE :"ro_user" SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"ro_user";
GRANT USAGE ON SCHEMA public TO :"ro_user";
SQL
