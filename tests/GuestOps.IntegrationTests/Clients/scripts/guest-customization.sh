#!/usr/bin/env bash
# The seed's guest-customization flow, scripted with the guestops CLI as an admin would: upload a script and its
# input file, run it, download the log it wrote, compare it with what was expected, clean up.
# Needs: GUESTOPS (the command, e.g. "guestops" or "dotnet /path/guestops.dll"), and the usual GOVC_* / GUESTOPS_*
# connection variables (URL, password, -k, VM, guest login).
set -euo pipefail
read -r -a GUESTOPS_COMMAND <<< "${GUESTOPS:-guestops}"
guestops() { "${GUESTOPS_COMMAND[@]}" "$@"; }

local_dir=$(mktemp -d)
trap 'rm -rf "$local_dir"' EXIT

cat > "$local_dir/customize.sh" <<'SCRIPT'
#!/bin/sh
# customize.sh INPUT LOG: applies "key value" lines (here: only records them) and logs what it did.
set -e
echo "customizing $(hostname) as $(id -un)" > "$2"
while read -r key value; do
    echo "set $key=$value" >> "$2"
done < "$1"
echo "done" >> "$2"
SCRIPT
printf 'hostname web-01\ntimezone UTC\n' > "$local_dir/input.txt"
printf 'customizing %s as %s\nset hostname=web-01\nset timezone=UTC\ndone\n' "$EXPECTED_HOST" "$EXPECTED_USER" > "$local_dir/expected.log"

guestops login
guestops wait-ready --timeout 30
dir=$(guestops mktemp -d --prefix customize-)
guestops upload --perm 0755 "$local_dir/customize.sh" "$dir/customize.sh"
guestops upload "$local_dir/input.txt" "$dir/"
guestops run --timeout 60 -- "$dir/customize.sh" "$dir/input.txt" "$dir/customize.log"
guestops download "$dir/customize.log" "$local_dir/customize.log"
diff -u "$local_dir/expected.log" "$local_dir/customize.log"
guestops rmdir -r "$dir"
if guestops exists "$dir" >/dev/null; then
    echo "error: $dir is still there" >&2
    exit 1
fi
guestops logout
echo "customization flow: ok"
