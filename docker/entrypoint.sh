#!/bin/sh
# With no arguments: bring the database schema up to date, then serve on port 8000.
# With arguments (compose's one-shot migrate service, the api service, a shell): run them.
set -eu
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
neverlog migrate
exec neverlog serve --host 0.0.0.0 --port 8000
