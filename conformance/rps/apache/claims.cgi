#!/bin/sh
# Shows the claims mod_auth_openidc passed in the environment, one KEY=VALUE a line.
printf 'Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n\r\n'
printf 'REMOTE_USER=%s\n' "$REMOTE_USER"
env | grep '^OIDC_CLAIM_' | sort
