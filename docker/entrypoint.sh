#!/bin/sh
# Container entrypoint: `python -m graphql_api "$@"` (serve, create-tables, mint-token, ...).
#
# In AWS the Redis AUTH token arrives as its own secret (REDIS_AUTH_TOKEN, from Secrets
# Manager) while REDIS_URL holds only the endpoint, because ECS injects whole secrets, not
# parts of a URL. Put the token into the URL here, then drop the variable so nothing else in
# the process sees it. The token is letters and digits only (infra/stacks/cache.py), so it
# needs no URL escaping.
set -eu

if [ -n "${REDIS_AUTH_TOKEN:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  case "$REDIS_URL" in
    *@*) ;; # the URL already carries credentials: leave it alone
    *://*)
      REDIS_URL="${REDIS_URL%%://*}://:${REDIS_AUTH_TOKEN}@${REDIS_URL#*://}"
      export REDIS_URL
      ;;
  esac
fi
unset REDIS_AUTH_TOKEN

# exec: the app becomes the signalled process, so SIGTERM reaches uvicorn directly.
exec python -m graphql_api "$@"
