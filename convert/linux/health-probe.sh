#!/bin/sh
# v2v-kubevirt health probe (docs/agent-run.md, "The health probe").
#
# Installed by `v2v-agent convert` (or injected into a throwaway boot
# overlay by `v2v-agent verify`) and run once per boot by
# v2v-kubevirt-health.service after multi-user.target and cloud-final.
# It waits, bounded, for the boot to settle, looks at the guest without
# touching the network, and prints one line
#
#   V2V-HEALTH {json}
#
# to every serial console, the kernel log and stdout (the journal), and
# writes the JSON to /var/lib/v2v-kubevirt/health.json.  The JSON carries
# its own verdict ("status" and "problems"): the judgement is made here,
# once, and every reader (verify, the orchestrator) takes it as it is.
#
#   v2v-kubevirt-health [--keep] [--aws-agents UNIT,UNIT...]
#
# Without --keep it removes itself (unit, its link and this script) after
# its first healthy report; an unhealthy one runs again at the next boot.
#
# For its tests: V2V_HEALTH_ROOT is a directory prefixed to every file it
# reads or writes; V2V_HEALTH_SETTLE_WAIT and V2V_HEALTH_ADDR_WAIT bound
# the waits (seconds, default 300 and 60).
set -u

root=${V2V_HEALTH_ROOT:-}
settle_wait=${V2V_HEALTH_SETTLE_WAIT:-300}
addr_wait=${V2V_HEALTH_ADDR_WAIT:-60}
unit=v2v-kubevirt-health.service
self=/usr/local/sbin/v2v-kubevirt-health
keep=no
agents=

while [ $# -gt 0 ]; do
    case $1 in
        --keep) keep=yes ;;
        --aws-agents) [ $# -gt 1 ] || { echo "$0: --aws-agents needs a value" >&2; exit 2; }
                      agents=$2; shift ;;
        --aws-agents=*) agents=${1#--aws-agents=} ;;
        *) echo "usage: $0 [--keep] [--aws-agents UNIT,...]" >&2; exit 2 ;;
    esac
    shift
done

have () { command -v "$1" >/dev/null 2>&1; }

# A JSON string: control characters dropped, \ and " escaped.
js () {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' |
                     sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# A JSON string, or null when empty.
jsn () {
    if [ -n "$1" ]; then js "$1"; else printf 'null'; fi
}

# A JSON array of the non-empty lines of $1.
jlist () {
    printf '['
    printf '%s\n' "$1" | {
        sep=
        while IFS= read -r x; do
            [ -n "$x" ] || continue
            printf '%s%s' "$sep" "$(js "$x")"
            sep=,
        done
    }
    printf ']'
}

# The lines of $1 on one line, separated by spaces.
oneline () {
    printf '%s' "$1" | tr '\n' ' ' | sed 's/ *$//'
}

problems=
problem () {
    problems="$problems$1
"
}

# 1. Let the boot settle: no job queued but ours (a oneshot unit's own
# job keeps the manager "starting" until it ends), bounded.
state=unknown
other_jobs=
i=0
while :; do
    state=$(systemctl is-system-running 2>/dev/null)
    [ -n "$state" ] || state=unknown
    other_jobs=$(systemctl list-jobs --no-legend 2>/dev/null |
                 awk -v u="$unit" '$1 ~ /^[0-9]+$/ && $2 != u { print $2 }')
    case $state in
        initializing|starting) [ -z "$other_jobs" ] && break ;;
        *) break ;;
    esac
    [ "$i" -lt "$settle_wait" ] || break
    sleep 2
    i=$((i + 2))
done

failed=$(systemctl list-units --state=failed --plain --no-legend --full \
             2>/dev/null | awk '$1 != "" { print $1 }')
# What the manager will say once our own job is done.
if [ "$state" = starting ] && [ -z "$other_jobs" ]; then
    if [ -n "$failed" ]; then state=degraded; else state=running; fi
fi
case $state in
    running) ;;
    starting|initializing)
        problem "the system is still $state after ${settle_wait} s (jobs: $(oneline "$other_jobs"))" ;;
    *) problem "the system is $state" ;;
esac
[ -z "$failed" ] || problem "failed units: $(oneline "$failed")"

# 2. Network: every NIC but lo, its addresses (waiting, bounded, for the
# first one and a default route: DHCP may end a little after the boot
# transaction), and the default routes.
nic_names () {
    ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); if ($2 != "lo") print $2 }'
}
nic_addrs () {   # FAMILY NIC: one address a line, no prefix length
    ip -o "-$1" addr show dev "$2" 2>/dev/null |
        awk '{ for (f = 1; f < NF; f++) if ($f == "inet" || $f == "inet6") a = $(f + 1);
               if ($0 !~ / scope (host|link) /) { sub(/\/.*/, "", a); print a } }'
}
any_address () {
    for n in $(nic_names); do
        [ -n "$(nic_addrs 4 "$n")$(nic_addrs 6 "$n")" ] && return 0
    done
    return 1
}
if ! have ip; then
    problem "no ip command: the NICs cannot be seen"
fi
# An address alone is not the end of it: a DHCP client (networkd,
# dhclient-script) sets the lease's address first and its routes after,
# a moment apart that is seconds under TCG.
any_default_route () {
    [ -n "$(ip -4 route show default 2>/dev/null)$(ip -6 route show default 2>/dev/null)" ]
}
i=0
until { any_address && any_default_route; } || [ "$i" -ge "$addr_wait" ]; do
    sleep 1
    i=$((i + 1))
done
nics=
sep=
have_addr=no
for n in $(nic_names); do
    mac=$(ip -o link show dev "$n" 2>/dev/null |
          awk '{ for (f = 1; f < NF; f++) if ($f == "link/ether") print $(f + 1) }')
    a4=$(nic_addrs 4 "$n")
    a6=$(nic_addrs 6 "$n")
    [ -z "$a4$a6" ] || have_addr=yes
    nics="$nics$sep{\"name\":$(js "$n"),\"mac\":$(jsn "$mac"),\"ipv4\":$(jlist "$a4"),\"ipv6\":$(jlist "$a6")}"
    sep=,
done
[ "$have_addr" = yes ] || problem "no NIC has an IP address"

route_json () {  # FAMILY
    r=$(ip "-$1" route show default 2>/dev/null | head -n 1)
    if [ -z "$r" ]; then
        printf 'null'
        return
    fi
    via=$(echo "$r" | awk '{ for (f = 1; f < NF; f++) if ($f == "via") print $(f + 1) }')
    dev=$(echo "$r" | awk '{ for (f = 1; f < NF; f++) if ($f == "dev") print $(f + 1) }')
    printf '{"via":%s,"dev":%s}' "$(jsn "$via")" "$(jsn "$dev")"
}
route4=$(route_json 4)
route6=$(route_json 6)
[ "$route4$route6" != nullnull ] || problem "no default route"

# 3. cloud-init: its status and the datasource it found.
datasource=
if have cloud-init; then
    ci=$(cloud-init status 2>/dev/null | sed -n 's/^status: *//p' | head -n 1)
    [ -n "$ci" ] || ci=unknown
    if [ -r "$root/run/cloud-init/status.json" ]; then
        datasource=$(sed -n 's/.*"datasource": *"\([^" ]*\).*/\1/p' \
                         "$root/run/cloud-init/status.json" | head -n 1)
    fi
else
    ci=not-installed
fi
case $ci in
    done|disabled|not-installed) ;;
    *) problem "cloud-init status is $ci" ;;
esac

# 4. Filesystems: root, every fstab mount and swap.
root_src=$(findmnt -n -o SOURCE / 2>/dev/null)
root_opts=$(findmnt -n -o OPTIONS / 2>/dev/null)
case ",$root_opts," in *,rw,*) root_mode=rw ;; *) root_mode=ro ;; esac
[ "$root_mode" = rw ] || problem "root is mounted read-only"

canon () { readlink -f "$1" 2>/dev/null || printf '%s\n' "$1"; }
swap_active=$(awk 'NR > 1 { print $1 }' "$root/proc/swaps" 2>/dev/null)
mounts=
swaps=
msep=
ssep=
if [ -r "$root/etc/fstab" ]; then
    while read -r spec file type opts _rest; do
        case $spec in ''|\#*) continue ;; esac
        case ",$opts," in *,noauto,*) continue ;; esac
        if [ "$type" = swap ]; then
            dev=$spec
            case $spec in
                UUID=*|LABEL=*|PARTUUID=*|PARTLABEL=*)
                    dev=$(findfs "$spec" 2>/dev/null) || dev= ;;
            esac
            st=missing
            if [ -n "$dev" ]; then
                for a in $swap_active; do
                    [ "$(canon "$a")" = "$(canon "$dev")" ] && st=active
                done
            fi
            [ "$st" = active ] || problem "fstab swap $spec is not active"
            swaps="$swaps$ssep{\"spec\":$(js "$spec"),\"state\":\"$st\"}"
            ssep=,
            continue
        fi
        case $file in /*) ;; *) continue ;; esac
        if src=$(findmnt -n -o SOURCE --mountpoint "$file" 2>/dev/null) &&
           [ -n "$src" ]; then
            st=mounted
        else
            st=missing
            src=
            # nofail: the guest boots without it by design (and the
            # conversion gives it to an entry whose disk was not migrated,
            # with a warning in its report): reported, not a problem.
            case ",$opts," in
                *,nofail,*) ;;
                *) problem "fstab mount $file ($spec) is not mounted" ;;
            esac
        fi
        mounts="$mounts$msep{\"target\":$(js "$file"),\"spec\":$(js "$spec"),\"type\":$(js "$type"),\"state\":\"$st\",\"source\":$(jsn "$src")}"
        msep=,
    done < "$root/etc/fstab"
fi

# 5. The AWS agents the conversion found: their states (reported, not
# judged: --agents=keep is the user's choice).
aws=
asep=
for u in $(echo "$agents" | tr ',' ' '); do
    load=$(systemctl show -p LoadState "$u" 2>/dev/null | sed -n 's/^LoadState=//p')
    case $load in
        masked) st=masked ;;
        not-found|'') st=not-found ;;
        *) st=$(systemctl is-active "$u" 2>/dev/null) ; [ -n "$st" ] || st=unknown ;;
    esac
    aws="$aws$asep$(js "$u"):$(js "$st")"
    asep=,
done

# 6. Identity and timing.
instance_id=$(head -n 1 "$root/var/lib/cloud/data/instance-id" 2>/dev/null)
hostkey=
if [ -r "$root/etc/ssh/ssh_host_ed25519_key.pub" ]; then
    hostkey=$(sha256sum < "$root/etc/ssh/ssh_host_ed25519_key.pub" | cut -d' ' -f1)
fi
boot_seconds=$(awk '{ print $1; exit }' "$root/proc/uptime" 2>/dev/null)
case $boot_seconds in ''|*[!0-9.]*) boot_seconds=null ;; esac

if [ -z "$problems" ]; then status=healthy; else status=unhealthy; fi

json="{\"version\":1,\"probe\":\"linux\",\"status\":\"$status\",\"problems\":$(jlist "$problems"),\
\"system\":$(js "$state"),\"failed_units\":$(jlist "$failed"),\
\"nics\":[$nics],\"default_route\":{\"ipv4\":$route4,\"ipv6\":$route6},\
\"cloud_init\":{\"status\":$(js "$ci"),\"datasource\":$(jsn "$datasource")},\
\"root\":{\"source\":$(jsn "$root_src"),\"mode\":\"$root_mode\"},\
\"mounts\":[$mounts],\"swap\":[$swaps],\"swap_active\":$(jlist "$swap_active"),\
\"aws_agents\":{$aws},\"instance_id\":$(jsn "$instance_id"),\
\"ssh_host_key\":$(jsn "$hostkey"),\"boot_seconds\":$boot_seconds}"
line="V2V-HEALTH $json"

# 7. Report: the state file, every serial console, the kernel log, the
# journal.  A console write is bounded: a stopped tty must not hold us.
state_dir=$root/var/lib/v2v-kubevirt
if mkdir -p "$state_dir" 2>/dev/null &&
   printf '%s\n' "$json" > "$state_dir/health.json.tmp" 2>/dev/null; then
    mv -f "$state_dir/health.json.tmp" "$state_dir/health.json"
fi

consoles=
for t in "$root"/sys/class/tty/ttyS*; do
    [ -r "$t/type" ] || continue
    [ "$(cat "$t/type")" != 0 ] || continue
    consoles="$consoles ${t##*/}"
done
if [ -r "$root/proc/consoles" ]; then
    while read -r c _rest; do
        case $c in ttyS*|hvc*|ttyAMA*|ttysclp*)
            case " $consoles " in *" $c "*) ;; *) consoles="$consoles $c" ;; esac ;;
        esac
    done < "$root/proc/consoles"
fi
for c in $consoles; do
    [ -c "$root/dev/$c" ] || [ -f "$root/dev/$c" ] || continue
    if have timeout; then
        # shellcheck disable=SC2016 # the inner shell expands them
        timeout 5 sh -c 'printf "%s\r\n" "$1" > "$2"' sh "$line" "$root/dev/$c" 2>/dev/null
    else
        printf '%s\r\n' "$line" > "$root/dev/$c" 2>/dev/null
    fi
done
# The kernel log keeps about 1000 bytes of a line: a long report is cut
# there (the consoles and health.json have all of it).
if [ -w "$root/dev/kmsg" ]; then
    printf '%s\n' "$line" > "$root/dev/kmsg" 2>/dev/null
fi
printf '%s\n' "$line"

# 8. Done once healthy, unless kept.
if [ "$status" = healthy ] && [ "$keep" = no ]; then
    rm -f "$root/etc/systemd/system/multi-user.target.wants/$unit" \
          "$root/etc/systemd/system/$unit" "$root$self"
    echo "v2v-kubevirt-health: healthy; removed (v2v-agent --health-probe=always keeps it)"
fi
exit 0
