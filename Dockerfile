# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The sluice image: the agent, the CNI plugin (installed onto each node by
# manifests/40-daemonset.yaml's init container), sluicectl, and the install
# and uninstall scripts. Debian 12 packages only, no other download.
#
#   docker build -t sluice:dev .
#
# Build stage: the same Debian packages and `make` as a developer's machine
# (hack/deps.sh is the one list), so the image runs what `make test` tested.
FROM debian:12 AS build
WORKDIR /src
# Alone first: the package layer is rebuilt only when the list changes.
COPY hack/deps.sh hack/deps.sh
RUN hack/deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
# The datapath object is embedded in the binaries as a skeleton
# (common/datapath.c includes sluice.skel.h): nothing else to ship.
RUN make -j"$(nproc)"

# Runtime stage: the shared libraries the three binaries link (ldd, mapped to
# packages with dpkg -S; tests/manifests checks this list against the
# binaries), with what they pull in by their own dependencies.
#   libbpf1 libelf1 zlib1g            the datapath loader
#   libnl-3-200 libnl-route-3-200     veths, addresses, routes (plugin)
#   libjson-c5                        CNI JSON, the API server's objects
#   libyaml-0-2                       the agent's manifests source
#   libcurl4                          the agent's API server client
# And the tools of hack/image/uninstall.sh: bpftool (cgroup detach) and
# iproute2 (tc filters on the node's interfaces); both also help to debug a
# node from `kubectl exec`.
FROM debian:12
RUN apt-get update \
	&& apt-get install -y --no-install-recommends \
		libbpf1 libelf1 zlib1g \
		libnl-3-200 libnl-route-3-200 \
		libjson-c5 \
		libyaml-0-2 \
		libcurl4 \
		libnftables1 \
		bpftool iproute2 \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/sluice /src/build/bin/sluiced \
	/src/build/bin/sluicectl /usr/local/bin/
COPY hack/image/install.sh hack/image/uninstall.sh /usr/local/lib/sluice/
# The DaemonSets name their commands; run alone, the image explains itself.
CMD ["/usr/local/bin/sluiced", "--help"]
