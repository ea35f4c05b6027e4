#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Install the Debian 12 packages a target needs, only when one is missing.
#   hack/deps.sh [--list] [build|test|demo|bench]   (default: test)
# --list prints the packages instead of installing them.
set -euo pipefail

build=(make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	libnl-3-dev libnl-route-3-dev libjson-c-dev libyaml-dev libcurl4-openssl-dev
	libnftables-dev
	linux-libc-dev)
# libcni and the reference plugins for the runtime side and conformance;
# iptables for the portmap chain; cmocka and clang-rt for unit tests,
# sanitizers and the fuzzer; prometheus for promtool, which checks the
# agent's /metrics; pmacct for nfacctd, the IPFIX collector of
# tests/e2e/test_ipfix.sh; python3-yaml for tests/manifests, which parses
# the manifests as YAML 1.1 like kubectl.
runtime=(golang-go golang-github-appc-cni-dev containernetworking-plugins
	iproute2 util-linux iptables curl python3)
test=(libcmocka-dev libclang-rt-14-dev prometheus pmacct python3-yaml)
bench=(iperf3 jq bc nftables) # nftables: hack/bench/services.sh

list=
if [[ ${1:-} == --list ]]; then
	list=1
	shift
fi

case ${1:-test} in
build) want=("${build[@]}") ;;
demo) want=("${build[@]}" "${runtime[@]}") ;;
test) want=("${build[@]}" "${runtime[@]}" "${test[@]}") ;;
bench) want=("${build[@]}" "${runtime[@]}" "${bench[@]}") ;;
*) echo "usage: $0 [--list] [build|test|demo|bench]" >&2; exit 2 ;;
esac

if [[ -n $list ]]; then
	echo "${want[@]}"
	exit 0
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
