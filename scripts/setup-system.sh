#!/usr/bin/env bash
# Installs, when missing, the Debian packages slaprobe needs. Idempotent; needs root (or sudo)
# on Debian/Ubuntu; says what it installs before it does.
#   --runtime   only what the agent needs (npm start): iputils-ping, the system ping, and
#               tzdata, the zone database (upgraded when older than Node's own)
#   (no flag)   everything the tests, benchmarks and CI use (npm test):
#   iputils-ping   system ping behind the icmp probe
#   tzdata         the contracts' time zones (src/availability/tzif.ts)
#   openssl        test certificates
#   coturn         real STUN/TURN server for the stun probe tests
#   prometheus     promtool check metrics / rules, and a real Prometheus for deploy tests
#   prometheus-alertmanager  amtool and the notification-chain test
#   prometheus-blackbox-exporter, prometheus-smokeping-prober, irtt   peers for bench/
#   iproute2, nftables   network namespaces and packet drops for impairment tests
#   python3-minimal      a slow ICMP echo responder in a test namespace (test/support/slow-echo.py)
#   victoria-metrics     the fleet store (remote write, query API) for fleet tests
#   chromium, poppler-utils   headless browser tests of the status page, PDF report to text
#   binutils       nm and readelf for bench:footprint --pages
set -euo pipefail
runtime=(iputils-ping tzdata)
toolchain=(iputils-ping tzdata openssl ca-certificates coturn prometheus prometheus-alertmanager
      prometheus-blackbox-exporter prometheus-smokeping-prober irtt iproute2 nftables procps docker-compose systemd python3-minimal
      victoria-metrics chromium poppler-utils binutils)
case "${1:-}" in
  --runtime) want=("${runtime[@]}"); what="the agent's runtime packages" ;;
  "") want=("${toolchain[@]}"); what="the test and benchmark toolchain" ;;
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup-system: unknown option $1; use --runtime (what the agent needs) or no option (the test toolchain)" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The agent's calendars read the system's zone database when its release is at least as new
# as the one in Node's ICU, and ICU's (7 MiB more memory) when it is older: an installed but
# older tzdata is upgraded when Debian has a newer one.
node_tz="$(node -p 'process.versions.tz || ""' 2>/dev/null || true)"
sys_tz="$(sed -n '1s/^# version //p' "${TZDIR:-/usr/share/zoneinfo}/tzdata.zi" 2>/dev/null || true)"
tz_stale=0
if [[ " ${want[*]} " == *" tzdata "* ]] && [[ " ${missing[*]} " != *" tzdata "* ]] && [ -n "$node_tz" ] && [ -n "$sys_tz" ] && dpkg --compare-versions "$sys_tz" lt "$node_tz"; then tz_stale=1; fi
if [ ${#missing[@]} -eq 0 ] && [ "$tz_stale" -eq 0 ]; then
  echo "setup-system: $what already installed (${want[*]})"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ "$tz_stale" -eq 1 ]; then
  have="$(dpkg-query -W -f='${Version}' tzdata)"
  cand="$(apt-cache policy tzdata | awk '/Candidate:/ {print $2}')"
  if [ -n "$cand" ] && [ "$cand" != "(none)" ] && dpkg --compare-versions "$cand" gt "$have"; then
    missing+=(tzdata)
  else
    echo "setup-system: the system's zone database ($sys_tz) is older than Node's ($node_tz) and Debian has none newer: the agent reads Node's (ICU)"
  fi
fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "setup-system: installing $what with apt-get: ${missing[*]}"
# policy-rc.d keeps the packages' own services (prometheus, coturn) from starting: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-system: installed ${missing[*]}"
