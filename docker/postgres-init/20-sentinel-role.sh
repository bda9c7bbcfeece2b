#!/usr/bin/env bash
# Provisions the sentinel's role: it reads every table and writes `alerts` only (the grants
# come with the migration, revision 0004). Run once by the postgres image on the first start of
# the volume (it may source the file: no shell options, no exit). The password travels in a
# psql variable on stdin, never on a command line.
: "${MOODWATCH_DB_SENTINEL_USER:=moodwatch_sentinel}"
: "${MOODWATCH_DB_SENTINEL_PASSWORD:?set MOODWATCH_DB_SENTINEL_PASSWORD}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set sentinel_user="$MOODWATCH_DB_SENTINEL_USER" \
  --set sentinel_password="$MOODWATCH_DB_SENTINEL_PASSWORD" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'sentinel_user') AS sentinel_missing \gset
\if :sentinel_missing
  CREATE ROLE :"sentinel_user" LOGIN;
\endif
ALTER ROLE :"sentinel_user" WITH LOGIN PASSWORD :'sentinel_password';
GRANT CONNECT ON DATABASE :"DBNAME" TO :"sentinel_user";
GRANT USAGE ON SCHEMA public TO :"sentinel_user";
SQL
