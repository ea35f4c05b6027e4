#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The install's tests: manifests/, the Dockerfile and hack/image/, offline
# (no cluster, no kubectl, no docker, no network). Builds nothing: run
# `make` first; the plugin and the agent themselves are checked against.
#
#   tests/manifests/run.sh
#
#   check.py      every object against the API's rules for its kind; RBAC
#                 against the API paths in the agent's code; the conflist
#                 through the real plugin; the agent's args through the
#                 real sluiced; the Dockerfile's packages, libraries and
#                 COPY sources (Debian 12's apt-cache and dpkg)
#   mutations.py  each of those checks fails on a copy broken on purpose
#   scripts.sh    install.sh and uninstall.sh around a real agent, in
#                 private namespaces (root; skipped otherwise)
#
# Environment:
#   MANIFESTS_MUTATIONS=0  skip mutations.py (about 20 s)
#   MANIFESTS_SCRIPTS=0    skip scripts.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

# The interpreter that has PyYAML: Debian's python3-yaml is for
# /usr/bin/python3, which a version manager's python3 may shadow.
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then
		PY=$(command -v "$p")
		break
	fi
done
if [[ -z $PY ]]; then
	echo "manifests: no python3 with PyYAML (apt-get install python3-yaml)" >&2
	exit 2
fi
for b in sluice sluiced sluicectl; do
	if [[ ! -x $TOP/build/bin/$b ]]; then
		echo "manifests: no build/bin/$b: run make first" >&2
		exit 2
	fi
done

rc=0
echo "== check.py"
"$PY" "$HERE/check.py" || rc=1

if [[ ${MANIFESTS_MUTATIONS:-1} != 0 ]]; then
	echo "== mutations.py"
	"$PY" "$HERE/mutations.py" || rc=1
fi

if [[ ${MANIFESTS_SCRIPTS:-1} != 0 ]]; then
	echo "== scripts.sh"
	if [[ $(id -u) -ne 0 ]]; then
		echo "skip  scripts.sh needs root (mounts, interfaces, BPF)"
	else
		PY=$PY unshare --mount --net --propagation private \
			bash "$HERE/scripts.sh" || rc=1
	fi
fi

if ((rc)); then
	echo "manifests: FAILED"
else
	echo "manifests: passed"
fi
exit "$rc"
