# shellcheck shell=bash
# Sourced by the Windows guestfs tests (convert-windows.sh, steps-dump.sh).
# Needs SHARED_DATA.
# A fake virtio-win tree, as virtio-win's RPM lays it out (drivers/...),
# plus guest-agent/ from the ISO list.  Each file holds its own path, so
# a copy in the guest can be traced back to the file it came from.
fake_tree () {
    local dir=$1 p
    while read -r p; do
        mkdir -p "$dir/$(dirname "$p")"
        printf 'placeholder %s\n' "$p" > "$dir/$p"
    done < <(cat "$SHARED_DATA/phony-windows/virtio-win-drivers-list.txt"
             sed -n 's|^cd/\(guest-agent/.*\)|\1|p' \
                 "$SHARED_DATA/phony-windows/virtio-win-iso-list.txt")
}
