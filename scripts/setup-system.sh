#!/usr/bin/env bash
# Installs, when missing, the Debian packages slaprobe needs. Idempotent; needs root (or sudo)
# on Debian/Ubuntu; says what it installs before it does.
#   --runtime   only what the agent needs (npm start): iputils-ping, the system ping
#   (no flag)   everything the tests, benchmarks and CI use (npm test):
#   iputils-ping   system ping behind the icmp probe
#   openssl        test certificates
#   coturn         real STUN/TURN server for the stun probe tests
#   prometheus     promtool check metrics / rules, and a real Prometheus for deploy tests
#   prometheus-alertmanager  amtool and the notification-chain test
#   prometheus-blackbox-exporter, prometheus-smokeping-prober, irtt   peers for bench/
#   iproute2, nftables   network namespaces and packet drops for impairment tests
#   victoria-metrics     the fleet store (remote write, query API) for fleet tests
#   chromium, poppler-utils   headless browser tests of the status page, PDF report to text
set -euo pipefail
runtime=(iputils-ping)
toolchain=(iputils-ping openssl ca-certificates coturn prometheus prometheus-alertmanager
      prometheus-blackbox-exporter prometheus-smokeping-prober irtt iproute2 nftables procps docker-compose systemd
      victoria-metrics chromium poppler-utils)
case "${1:-}" in
  --runtime) want=("${runtime[@]}"); what="the agent's runtime packages" ;;
  "") want=("${toolchain[@]}"); what="the test and benchmark toolchain" ;;
  -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup-system: unknown option $1; use --runtime (what the agent needs) or no option (the test toolchain)" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: $what already installed (${want[*]})"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup-system: installing $what with apt-get: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packages' own services (prometheus, coturn) from starting: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-system: installed ${missing[*]}"
