#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench: install what the benchmarks need from Debian when missing,
# build the tools (build/bench/rr, build/bench/cnitime, build/bin/sl-cnirun),
# run the datapath and the CNI latency benchmarks with their defaults and
# print both tables (also in build/bench/datapath.txt and
# build/bench/cni_latency.txt). About 15 minutes with the defaults.
#
# Knobs (environment): BENCH_REPS, BENCH_SECS, BENCH_PAR, BENCH_CONFIGS,
# BENCH_RETRIES, BENCH_BUSY_PCT, BENCH_QUIET_WAIT (datapath.sh,
# cni_latency.sh); BENCH_PODS, BENCH_CONC (cni_latency.sh). See
# hack/bench/README.md.
#
# BENCH_SUITES picks the benchmarks, in order (default "datapath
# cni_latency agent"); "services" (services.sh, Services against kube-proxy's
# iptables and nftables rulesets, about 13 more minutes) and "policy"
# (policy.sh, NetworkPolicy at 0 to 10,000 entries and its propagation,
# about 12 minutes), "flows" (flows.sh, flow visibility off vs on, event
# rates and shedding, the agent at 10k flows/s, about 10 minutes) and
# "crossnode" (crossnode.sh, pod to pod across two nodes: native routing
# and VXLAN vs node to node and the bridge plugin, about 8 minutes) run
# only when named, e.g. BENCH_SUITES="datapath cni_latency agent services"
# or BENCH_SUITES=policy.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"

if [[ $(id -u) != 0 ]]; then
	echo "run.sh: needs root (network namespaces)" >&2
	exit 1
fi

suites=${BENCH_SUITES:-datapath cni_latency agent}
for s in $suites; do
	case $s in
	datapath | cni_latency | agent | services | policy | flows | crossnode) ;;
	*) echo "run.sh: unknown suite '$s' in BENCH_SUITES" >&2; exit 2 ;;
	esac
done

pkgs=()
command -v iperf3 >/dev/null || pkgs+=(iperf3)
command -v bc >/dev/null || pkgs+=(bc)
command -v jq >/dev/null || pkgs+=(jq)
command -v gcc >/dev/null || pkgs+=(gcc libc6-dev)
command -v taskset >/dev/null || pkgs+=(util-linux)
command -v ss >/dev/null || pkgs+=(iproute2)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] ||
	pkgs+=(containernetworking-plugins)
if [[ ! -x build/bin/sl-cnirun ]]; then
	command -v go >/dev/null || pkgs+=(golang-go)
	[[ -d /usr/share/gocode/src/github.com/containernetworking/cni ]] ||
		pkgs+=(golang-github-appc-cni-dev)
fi
if [[ " $suites " == *" services "* ]]; then
	command -v iptables-restore >/dev/null || pkgs+=(iptables)
	command -v nft >/dev/null || pkgs+=(nftables)
fi
if [[ " $suites " == *" services "* || " $suites " == *" policy "* ]]; then
	command -v python3 >/dev/null || pkgs+=(python3)
fi
if [[ " $suites " == *" services "* || " $suites " == *" policy "* ||
      " $suites " == *" flows "* ]]; then
	command -v bpftool >/dev/null || pkgs+=(bpftool)
fi
if [[ " $suites " == *" flows "* ]]; then
	command -v curl >/dev/null || pkgs+=(curl)
fi
if [[ " $suites " == *" policy "* && ! -x build/bin/sl-fakeapi ]]; then
	command -v go >/dev/null || pkgs+=(golang-go)
fi
if ((${#pkgs[@]})); then
	echo "run.sh: installing ${pkgs[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${pkgs[@]}" >/dev/null
fi

sep=
for s in $suites; do
	printf '%s' "$sep"
	sep=$'\n'
	"hack/bench/$s.sh"
done
