#!/usr/bin/env bash
# Back up the portal: the PostgreSQL database (pg_dump custom format) and the
# uploaded files (MEDIA_ROOT as a tar.gz). docs/operations.md, "Backups".
#
#   DATABASE_URL=postgres://… MEDIA_ROOT=/srv/tsunagari/media ops/backup.sh /var/backups/tsunagari
#
# Writes DIR/tsunagari-<UTC stamp>.dump and DIR/media-<UTC stamp>.tar.gz and
# prints their paths. Reads a `.env` in the project root for DATABASE_URL and
# MEDIA_ROOT when they are not in the environment. Restore with ops/restore.sh.
set -euo pipefail

usage() { echo "usage: DATABASE_URL=postgres://… [MEDIA_ROOT=…] $0 DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
dir=$1
root=$(cd "$(dirname "$0")/.." && pwd)

# The variables from .env, if any, without overriding the environment.
env_value() {
  local name=$1
  [ -f "$root/.env" ] || return 0
  sed -n "s/^[[:space:]]*$name[[:space:]]*=[[:space:]]*//p" "$root/.env" | tail -n 1 | sed 's/^["'\'']//; s/["'\'']$//'
}
DATABASE_URL=${DATABASE_URL:-$(env_value DATABASE_URL)}
MEDIA_ROOT=${MEDIA_ROOT:-$(env_value MEDIA_ROOT)}
MEDIA_ROOT=${MEDIA_ROOT:-$root/media}

case "$DATABASE_URL" in
  postgres://* | postgresql://*) ;;
  pgsql://*) DATABASE_URL="postgresql://${DATABASE_URL#pgsql://}" ;;
  *) echo "backup.sh: DATABASE_URL must be a postgres:// URL" >&2; exit 2 ;;
esac
case "$DATABASE_URL" in postgres://*) DATABASE_URL="postgresql://${DATABASE_URL#postgres://}" ;; esac

umask 077  # the dump holds personal data (docs/privacy.md)
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dump="$dir/tsunagari-$stamp.dump"
media="$dir/media-$stamp.tar.gz"

# Written under a temporary name: a half-written dump never looks complete.
pg_dump --format=custom --no-owner --no-privileges --file="$dump.part" --dbname="$DATABASE_URL"
mv "$dump.part" "$dump"

if [ -d "$MEDIA_ROOT" ]; then
  tar -czf "$media.part" -C "$MEDIA_ROOT" .
else
  # No uploads yet: an empty archive, so every backup has both files.
  tar -czf "$media.part" --files-from /dev/null
fi
mv "$media.part" "$media"

echo "$dump"
echo "$media"
