-- Runs once, when the PostgreSQL container first creates its data directory.
-- The API serves as neverlog_app, a role that owns nothing, so that row-level security
-- binds it; the migrate service (the owner) grants it what it needs with --app-role.
-- The password is for a local compose setup only: change it (here and in compose.yaml)
-- anywhere else.
CREATE ROLE neverlog_app LOGIN PASSWORD 'neverlog_app';
