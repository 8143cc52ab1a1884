#!/usr/bin/env bash
# Restore a backup made by ops/backup.sh into a NEW database on the server of
# DATABASE_URL, and optionally the uploaded files. docs/operations.md, "Backups".
#
#   DATABASE_URL=postgres://… ops/restore.sh BACKUP.dump NEW_DATABASE [MEDIA.tar.gz MEDIA_DIR]
#
# The database NEW_DATABASE is created (the script refuses if it exists: it
# never overwrites a database) and the dump restored into it with the
# connecting role as owner. MEDIA_DIR, if given, must be empty or missing.
# The portal then runs against it with DATABASE_URL pointing at NEW_DATABASE.
set -euo pipefail

usage() {
  echo "usage: DATABASE_URL=postgres://… $0 BACKUP.dump NEW_DATABASE [MEDIA.tar.gz MEDIA_DIR]" >&2
  exit 2
}
[ $# -eq 2 ] || [ $# -eq 4 ] || usage
dump=$1
target=$2
root=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${DATABASE_URL:-}" ] && [ -f "$root/.env" ]; then
  DATABASE_URL=$(sed -n 's/^[[:space:]]*DATABASE_URL[[:space:]]*=[[:space:]]*//p' "$root/.env" | tail -n 1 | sed 's/^["'\'']//; s/["'\'']$//')
fi
case "${DATABASE_URL:-}" in
  postgres://* | postgresql://* | pgsql://*) ;;
  *) echo "restore.sh: DATABASE_URL must be a postgres:// URL (it names the server)" >&2; exit 2 ;;
esac
[[ $target =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || {
  echo "restore.sh: the database name must be lower-case letters, digits and _" >&2
  exit 2
}
[ -f "$dump" ] || { echo "restore.sh: no such file: $dump" >&2; exit 2; }

# The server of DATABASE_URL, with another database name (query string kept).
url=${DATABASE_URL/#pgsql:\/\//postgresql://}
url=${url/#postgres:\/\//postgresql://}
query=""
case "$url" in *\?*) query="?${url#*\?}"; url=${url%%\?*} ;; esac
server=${url%/*}
admin_url="$server/postgres$query"
target_url="$server/$target$query"

exists=$(psql --no-psqlrc -tA --dbname="$admin_url" -v ON_ERROR_STOP=1 \
  -c "SELECT 1 FROM pg_database WHERE datname = '$target'")
if [ "$exists" = "1" ]; then
  echo "restore.sh: database $target already exists; choose a new name or drop it first" >&2
  exit 1
fi
psql --no-psqlrc -q --dbname="$admin_url" -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$target\""
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$target_url" "$dump"
echo "restored $dump into database $target"

if [ $# -eq 4 ]; then
  media=$3
  media_dir=$4
  if [ -d "$media_dir" ] && [ -n "$(ls -A "$media_dir")" ]; then
    echo "restore.sh: $media_dir is not empty; restore the files into a new folder" >&2
    exit 1
  fi
  mkdir -p "$media_dir"
  tar -xzf "$media" -C "$media_dir"
  echo "restored $media into $media_dir"
fi
