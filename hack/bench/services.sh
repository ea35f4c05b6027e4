#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Services without kube-proxy, against kube-proxy's two rulesets.
#
# 1. Datapath: a client pod connects to a ClusterIP whose one backend is a
#    pod on the same node; TCP_CRR and TCP_RR (hack/bench/rr.c) with 1,
#    1,000 and 10,000 Services on the node, the target Service last in
#    iptables order, in
#      (x) sluice    pods wired by the plugin (hack/lib/cluster.sh), the
#                    Services and one EndpointSlice each in a manifests
#                    folder, programmed by sluiced
#      (i) iptables  the reference bridge plugin + host-local (as in
#                    datapath.sh) and, in the node netns, a ruleset shaped
#                    like kube-proxy's iptables mode (KUBE-SERVICES ->
#                    KUBE-SVC-* -> KUBE-SEP-* DNAT, KUBE-MARK-MASQ,
#                    KUBE-POSTROUTING, the filter chains), loaded with one
#                    iptables-restore (the system's iptables, nf_tables
#                    backend on Debian 12)
#      (l) iptables-legacy  the same through iptables-legacy-restore
#                    (not run by default)
#      (n) nftables  the same bridge, and a ruleset shaped like kube-proxy's
#                    nftables mode (service-ips verdict map on
#                    daddr . l4proto . dport, numgen vmaps to endpoint
#                    chains that dnat), loaded with one nft -f
#    Every (configuration, count) pair is its own node netns with its own
#    client and server pods, so each repetition runs all of them in turn and
#    compared runs are seconds apart (paired ratios).
# 2. Control plane: sluiced programming BENCH_SVC_CP_SERVICES (10,000)
#    Services x BENCH_SVC_CP_EPS (10) endpoints from a manifests folder
#    (start to every frontend and backend in the maps), its RSS, and the
#    time from one change at that size to the pinned sl_services map
#    showing it (bpf(2) lookups every 50 us): one EndpointSlice file
#    replaced by rename (the new backend in the frontend's slots), a
#    Service with its slice added in a new file (its frontend with every
#    slot), that file deleted (its frontend gone); against the same
#    Services as a kube-proxy iptables
#    ruleset (iptables-restore, nf_tables and legacy backends) and nftables
#    ruleset (nft -f), full loads and one endpoint change as kube-proxy
#    writes it (partial restore / one transaction).
#
# br_netfilter: the bridge delivers the backend's replies to the client at
# layer 2, so only with net.bridge.bridge-nf-call-iptables=1 do they meet
# conntrack and get translated back (kube-proxy's requirement). That
# sysctl is per network namespace since Linux 5.3; it is read, and set if
# needed, in the node netns only (never in the root namespace).
#
# Environment: BENCH_REPS (5), BENCH_SECS (4, per run, plus 1 s warm-up),
# BENCH_SVC_COUNTS ("1 1000 10000"), BENCH_SVC_CONFIGS ("x i n"; add l for
# iptables-legacy), BENCH_SVC_DP (1; 0 skips part 1), BENCH_SVC_CP (1; 0
# skips part 2), BENCH_SVC_CP_SERVICES
# (10000), BENCH_SVC_CP_EPS (10), BENCH_SVC_CHANGES (20), BENCH_SVC_CP_NFT
# (1; 0 skips the nft -f full load, ~2 min at 10k x 10), BENCH_RETRIES (1),
# BENCH_BUSY_PCT (10), BENCH_QUIET_WAIT (30 s).
# Output: stdout and build/bench/services.txt. About 13 minutes on a quiet
# machine (runs redone because others were busy come on top).
#
# sluice runs from copies of build/bin taken at the start (see
# snapshot_bins), and sluiced with --cgroup-root none: its socket programs
# would outlive it on the machine's cgroup root.
set -euo pipefail

# A private mount namespace: the netns bind mounts (on a tmpfs over
# /run/netns) and the nodes' bpffs mounts vanish with the script, however
# it ends.
if [[ -z ${SL_BENCH_INNER:-} ]]; then
	exec unshare --mount --propagation private env SL_BENCH_INNER=1 \
		"$0" "$@"
fi
mkdir -p /run/netns
mount -t tmpfs sluice-bench /run/netns

# shellcheck source=hack/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-4}
COUNTS=${BENCH_SVC_COUNTS:-"1 1000 10000"}
CONFIGS=${BENCH_SVC_CONFIGS:-"x i n"}
DP=${BENCH_SVC_DP:-1}
RETRIES=${BENCH_RETRIES:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
CP=${BENCH_SVC_CP:-1}
CP_SVCS=${BENCH_SVC_CP_SERVICES:-10000}
CP_EPS=${BENCH_SVC_CP_EPS:-10}
CHANGES=${BENCH_SVC_CHANGES:-20}
CP_NFT=${BENCH_SVC_CP_NFT:-1}
RR_PORT=7000	# the backend's port (targetPort)
SVC_PORT=80	# the Services' port
CLUSTER_CIDR=10.244.0.0/14	# kube-proxy's --cluster-cidr: both pod ranges

declare -A LABEL=([x]="(x) sluice" [i]="(i) iptables" [l]="(l) ipt-legacy" \
	[n]="(n) nftables")
declare -A CLI_NS SRV_NS VIP STATUS SETUP
NODE='' SRV_IP=''	# set by bridge_node
LAST=${COUNTS##* }	# the largest count, compared across configurations
FIRST=${COUNTS%% *}

# --- generated Services, rulesets and the map watcher ----------------------

# svcgen MODE ARGS...: see the usage at the end of the program.
svcgen() {
	SVC_CLUSTER_CIDR=$CLUSTER_CIDR python3 "$BENCH_WORK/svcgen.py" "$@"
}

write_svcgen() {
	cat >"$BENCH_WORK/svcgen.py" <<'PY'
# Services i = 0..N-1: bench/svc-0000i, ClusterIP 10.96.0.0 + 1 + i, port
# 80/TCP to targetPort TPORT, EPS endpoints each at made-up addresses in
# 10.128.0.0/10; the last one is the target, whose first endpoint is TARGET.
import base64, ctypes, hashlib, ipaddress, os, struct, sys, time

NS, PORT, SVC_CIDR = "bench", 80, "10.96.0.0/16"
SVC_BASE = int(ipaddress.IPv4Address("10.96.0.0"))
FAKE_BASE = int(ipaddress.IPv4Address("10.128.0.0"))


def ip(n):
    return str(ipaddress.IPv4Address(n))


def services(n, eps, target):
    out = []
    for i in range(n):
        e = [ip(FAKE_BASE + 1 + i * eps + j) for j in range(eps)]
        if i == n - 1:
            e[0] = target
        out.append((f"svc-{i:05d}", ip(SVC_BASE + 1 + i), e))
    return out


def h16(s):  # kube-proxy's chain-name hash
    return base64.b32encode(hashlib.sha256(s.encode()).digest())[:16].decode()


# --- sluice: a manifests folder ---------------------------------------------

def service_yaml(name, vip, tport):
    return (f"---\napiVersion: v1\nkind: Service\n"
            f"metadata: {{namespace: {NS}, name: {name}}}\n"
            f"spec:\n  clusterIP: {vip}\n  ports:\n"
            f"  - {{name: http, protocol: TCP, port: {PORT}, targetPort: {tport}}}\n")


def slice_yaml(name, eps, tport):
    s = (f"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
         f"metadata: {{namespace: {NS}, name: {name}-a, "
         f"labels: {{kubernetes.io/service-name: {name}}}}}\n"
         f"addressType: IPv4\nports: [{{name: http, protocol: TCP, port: {tport}}}]\n"
         f"endpoints:\n")
    for e in eps:
        s += f"- {{addresses: [{e}], nodeName: far, conditions: {{ready: true}}}}\n"
    return s


def manifests(d, svcs, tport, node, idx):
    with open(f"{d}/node.yaml", "w") as f:
        f.write(f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\n"
                f"spec: {{podCIDR: 10.244.{idx}.0/24}}\n"
                f"status: {{addresses: [{{type: InternalIP, address: 192.168.77.{idx}}}]}}\n")
    per = 1000
    for start in range(0, len(svcs), per):
        chunk = svcs[start:start + per]
        with open(f"{d}/services-{start // per:03d}.yaml", "w") as f:
            for name, v, _ in chunk:
                f.write(service_yaml(name, v, tport))
        with open(f"{d}/slices-{start // per:03d}.yaml", "w") as f:
            for name, _, e in chunk:
                if name != svcs[-1][0]:
                    f.write(slice_yaml(name, e, tport))
    # The target's slice alone in its file: the one the change test rewrites.
    name, _, e = svcs[-1]
    with open(f"{d}/slice-target.yaml", "w") as f:
        f.write(slice_yaml(name, e, tport))


# --- kube-proxy, iptables mode ------------------------------------------------

FILTER = [
    "*filter",
    ":KUBE-EXTERNAL-SERVICES - [0:0]", ":KUBE-FORWARD - [0:0]",
    ":KUBE-NODEPORTS - [0:0]", ":KUBE-PROXY-FIREWALL - [0:0]",
    ":KUBE-SERVICES - [0:0]",
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
]
FILTER_BUILTIN = [
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
]
NAT_FIXED = [
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
]
NAT_BUILTIN = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
]
NAT_CHAINS = ["KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES"]
NODEPORTS_LAST = ('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; '
                  'NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')


def ipt_service(name, v, eps, tport, ccidr, large):
    """(KUBE-SERVICES rule, {chain: rules}) of one Service port, as
    kube-proxy writes them (no comments on endpoint rules in its
    large-cluster mode, above 1000 endpoints)."""
    sp = f"{NS}/{name}:http"
    svc = "KUBE-SVC-" + h16(sp + "tcp")
    top = (f'-A KUBE-SERVICES -d {v}/32 -p tcp -m comment --comment "{sp} cluster IP" '
           f'-m tcp --dport {PORT} -j {svc}')
    chains = {svc: [f'-A {svc} ! -s {ccidr} -d {v}/32 -p tcp -m comment --comment '
                    f'"{sp} cluster IP" -m tcp --dport {PORT} -j KUBE-MARK-MASQ']}
    for j, e in enumerate(eps):
        sep = "KUBE-SEP-" + h16(sp + "tcp" + f"{e}:{tport}")
        c = "" if large else f'-m comment --comment "{sp} -> {e}:{tport}" '
        if j < len(eps) - 1:
            chains[svc].append(f"-A {svc} {c}-m statistic --mode random "
                               f"--probability {1.0 / (len(eps) - j):0.10f} -j {sep}")
        else:
            chains[svc].append(f"-A {svc} {c}-j {sep}")
        c = "" if large else f'-m comment --comment "{sp}" '
        chains[sep] = [f"-A {sep} -s {e}/32 {c}-j KUBE-MARK-MASQ",
                       f"-A {sep} -p tcp {c}-m tcp -j DNAT --to-destination {e}:{tport}"]
    return top, chains


def ipt(svcs, tport, ccidr):
    large = sum(len(e) for _, _, e in svcs) > 1000
    tops, chains = [], {}
    for name, v, eps in svcs:
        top, ch = ipt_service(name, v, eps, tport, ccidr, large)
        tops.append(top)
        chains.update(ch)
    out = FILTER + FILTER_BUILTIN + ["COMMIT", "*nat"]
    out += [f":{c} - [0:0]" for c in NAT_CHAINS + list(chains)]
    out += NAT_BUILTIN + NAT_FIXED + tops + [NODEPORTS_LAST]
    for rules in chains.values():
        out += rules
    return "\n".join(out + ["COMMIT"]) + "\n"


def ipt_change(svcs, tport, ccidr, old, new):
    """The target's last endpoint, now OLD, replaced by NEW, as kube-proxy's partial
    sync writes it (iptables-restore --noflush): the filter chains and
    KUBE-SERVICES in full, the changed KUBE-SVC chain, the new KUBE-SEP
    chain, and the stale one deleted."""
    large = sum(len(e) for _, _, e in svcs) > 1000
    tops = [ipt_service(n, v, e, tport, ccidr, large)[0] for n, v, e in svcs]
    name, v, eps = svcs[-1]  # the changing endpoint is the last one
    _, before = ipt_service(name, v, eps[:-1] + [old], tport, ccidr, large)
    _, after = ipt_service(name, v, eps[:-1] + [new], tport, ccidr, large)
    fresh = [c for c in after if c not in before or c.startswith("KUBE-SVC-")]
    stale = [c for c in before if c not in after]
    out = FILTER + ["COMMIT", "*nat"]
    # A stale chain is flushed (declared) before -X, as kube-proxy does.
    out += [f":{c} - [0:0]" for c in NAT_CHAINS + fresh + stale]
    out += NAT_FIXED + tops + [NODEPORTS_LAST]
    for c in fresh:
        out += after[c]
    out += [f"-X {c}" for c in stale]
    return "\n".join(out + ["COMMIT"]) + "\n"


# --- kube-proxy, nftables mode ------------------------------------------------

T = "ip kube-proxy"


def nft_names(name, eps, tport):
    sp = f"{NS}/{name}/tcp/http"
    return (f"service-{h16(sp)[:8]}-{sp}",
            [(f"endpoint-{h16(sp + e)[:8]}-{sp}__{e}/{tport}", e) for e in eps])


def nft_service(svc, v, epc, ccidr):
    vm = ", ".join(f"{j} : goto {c}" for j, (c, _) in enumerate(epc))
    return [f"add rule {T} {svc} ip daddr {v} tcp dport {PORT} ip saddr != {ccidr} jump mark-for-masquerade",
            f"add rule {T} {svc} numgen random mod {len(epc)} vmap {{ {vm} }}"]


def nft_endpoint(c, e, tport):
    return [f"add chain {T} {c}",
            f"add rule {T} {c} ip saddr {e} jump mark-for-masquerade",
            f"add rule {T} {c} meta l4proto tcp dnat to {e}:{tport}"]


def nft(svcs, tport, ccidr):
    out = [
        f'add table {T} {{ comment "rules for kube-proxy" ; }}',
        f"add chain {T} mark-for-masquerade",
        f"add rule {T} mark-for-masquerade mark set mark or 0x4000",
        f"add chain {T} masquerading",
        f"add rule {T} masquerading mark and 0x4000 == 0 return",
        f"add rule {T} masquerading mark set mark xor 0x4000",
        f"add rule {T} masquerading masquerade fully-random",
        f'add set {T} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}',
        f'add set {T} nodeport-ips {{ type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }}',
        f'add map {T} service-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }}',
        f'add map {T} service-nodeports {{ type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }}',
        f'add map {T} no-endpoint-services {{ type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }}',
        f'add map {T} no-endpoint-nodeports {{ type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }}',
        f'add map {T} firewall-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }}',
        f"add chain {T} cluster-ips-check",
        f'add rule {T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"',
        f'add rule {T} cluster-ips-check ip daddr {{ {SVC_CIDR} }} drop comment "Drop traffic to unallocated ClusterIPs"',
        f"add chain {T} firewall-check",
        f"add rule {T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips",
        f"add chain {T} service-endpoints-check",
        f"add rule {T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
        f"add chain {T} nodeport-endpoints-check",
        f"add rule {T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
        f"add chain {T} services",
        f"add rule {T} services ip daddr . meta l4proto . th dport vmap @service-ips",
        f"add rule {T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
        f"add chain {T} filter-prerouting {{ type filter hook prerouting priority -110 ; }}",
        f"add rule {T} filter-prerouting ct state new jump firewall-check",
        f"add chain {T} filter-forward {{ type filter hook forward priority -110 ; }}",
        f"add rule {T} filter-forward ct state new jump service-endpoints-check",
        f"add rule {T} filter-forward ct state new jump cluster-ips-check",
        f"add chain {T} filter-input {{ type filter hook input priority -110 ; }}",
        f"add rule {T} filter-input ct state new jump nodeport-endpoints-check",
        f"add rule {T} filter-input ct state new jump service-endpoints-check",
        f"add chain {T} filter-output {{ type filter hook output priority -110 ; }}",
        f"add rule {T} filter-output ct state new jump service-endpoints-check",
        f"add rule {T} filter-output ct state new jump firewall-check",
        f"add chain {T} filter-output-post-dnat {{ type filter hook output priority -90 ; }}",
        f"add rule {T} filter-output-post-dnat ct state new jump cluster-ips-check",
        f"add chain {T} nat-prerouting {{ type nat hook prerouting priority -100 ; }}",
        f"add rule {T} nat-prerouting jump services",
        f"add chain {T} nat-output {{ type nat hook output priority -100 ; }}",
        f"add rule {T} nat-output jump services",
        f"add chain {T} nat-postrouting {{ type nat hook postrouting priority 100 ; }}",
        f"add rule {T} nat-postrouting jump masquerading",
    ]
    for name, v, eps in svcs:
        svc, epc = nft_names(name, eps, tport)
        for c, e in epc:
            out += nft_endpoint(c, e, tport)
        out.append(f"add chain {T} {svc}")
        out += nft_service(svc, v, epc, ccidr)
        out.append(f"add element {T} cluster-ips {{ {v} }}")
        out.append(f"add element {T} service-ips {{ {v} . tcp . {PORT} : goto {svc} }}")
    return "\n".join(out) + "\n"


def nft_change(svcs, tport, ccidr, old, new):
    """One transaction, as kube-proxy's nftables mode writes it: the new
    endpoint chain, the service chain rewritten, the stale chain deleted."""
    name, v, eps = svcs[-1]  # the changing endpoint is the last one
    svc, epc = nft_names(name, eps[:-1] + [new], tport)
    _, oldc = nft_names(name, [old], tport)
    out = nft_endpoint(dict((e, c) for c, e in epc)[new], new, tport)
    out += [f"flush chain {T} {svc}"] + nft_service(svc, v, epc, ccidr)
    out += [f"flush chain {T} {oldc[0][0]}", f"delete chain {T} {oldc[0][0]}"]
    return "\n".join(out) + "\n"


# --- the map watcher: bpf(2) through ctypes ---------------------------------

libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF, BPF_MAP_LOOKUP_ELEM, BPF_OBJ_GET = 321, 1, 7


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    return libc.syscall(SYS_BPF, cmd, buf, 128)


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    fd = bpf(BPF_OBJ_GET, struct.pack("QII", ctypes.addressof(p), 0, 0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), f"bpf_obj_get {path}")
    return fd


def lookup(fd, key, vsize):
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(vsize)
    r = bpf(BPF_MAP_LOOKUP_ELEM, struct.pack("IIQQQ", fd, 0, ctypes.addressof(k),
                                             ctypes.addressof(v), 0))
    return v.raw if r == 0 else None


def backends_of(svc_fd, be_fd, vip):
    """The backend addresses in the slots of VIP:80/TCP (include/sluice/
    service.h: sl_service_key, sl_service_val, sl_backend); None when it
    has no frontend."""
    a = int(ipaddress.IPv4Address(vip))
    key = lambda slot: struct.pack("!IH", a, PORT) + struct.pack("=BBHH", 6, 0, slot, 0)
    fe = lookup(svc_fd, key(0), 16)
    if not fe:
        return None
    count = struct.unpack("=IIHHI", fe)[2]
    out = set()
    for s in range(1, count + 1):
        sv = lookup(svc_fd, key(s), 16)
        be = sv and lookup(be_fd, struct.pack("=I", struct.unpack("=IIHHI", sv)[0]), 8)
        if be:
            out.add(ip(struct.unpack("!I", be[:4])[0]))
    return out


def wait_for(what, t0, done):
    """Microseconds from t0 until done() holds; gives up after 10 s."""
    while True:
        now = time.monotonic()
        if done():
            return int((now - t0) * 1e6)
        if now - t0 > 10:
            sys.exit(f"{what}: not in the maps after 10 s")
        time.sleep(0.00005)


def watch(root, d, svcs, tport, changes):
    """Three changes, CHANGES times each, printed as "KIND MICROSECONDS"
    from the file operation until the maps show it: "slice" replaces the
    target's last endpoint by renaming its slice file (the new address in
    the frontend's slots, the old one gone); "add" renames in a file with
    one more Service and its slice (its frontend with every endpoint in
    its slots); "del" deletes that file (its frontend gone)."""
    svc_fd, be_fd = obj_get(f"{root}/sl_services"), obj_get(f"{root}/sl_backends")
    name, v, eps = svcs[-1]
    old = eps[-1]
    for c in range(1, changes + 1):
        new = ip(int(ipaddress.IPv4Address("10.200.0.0")) + c)
        eps = eps[:-1] + [new]
        with open(f"{d}/.slice-target.tmp", "w") as f:
            f.write(slice_yaml(name, eps, tport))
        time.sleep(0.2)  # let the agent settle from the last change
        t0 = time.monotonic()
        os.rename(f"{d}/.slice-target.tmp", f"{d}/slice-target.yaml")
        def moved():
            got = backends_of(svc_fd, be_fd, v) or set()
            return new in got and old not in got
        print("slice", wait_for(f"change {c}: {new} for {old} at {v}", t0, moved))
        old = new
    # Outside the Services' range and the endpoints': new ones each time.
    extra, evip = "svc-extra", "10.97.0.1"
    for c in range(1, changes + 1):
        base = int(ipaddress.IPv4Address("10.201.0.0")) + c * len(eps)
        want = {ip(base + j) for j in range(len(eps))}
        with open(f"{d}/.extra.tmp", "w") as f:
            f.write(service_yaml(extra, evip, tport) + slice_yaml(extra, sorted(want), tport))
        time.sleep(0.2)
        t0 = time.monotonic()
        os.rename(f"{d}/.extra.tmp", f"{d}/extra.yaml")
        print("add", wait_for(f"Service {c} at {evip}", t0,
                              lambda: backends_of(svc_fd, be_fd, evip) == want))
        time.sleep(0.2)
        t0 = time.monotonic()
        os.unlink(f"{d}/extra.yaml")
        print("del", wait_for(f"Service {c} at {evip} removed", t0,
                              lambda: backends_of(svc_fd, be_fd, evip) is None))


if __name__ == "__main__":
    # svcgen MODE N EPS TARGET TPORT [ARGS...]
    #   manifests DIR NODE INDEX | ipt | nft | ipt-change OLD NEW |
    #   nft-change OLD NEW | watch BPF_ROOT DIR CHANGES
    mode, n, eps, target, tport = sys.argv[1], *map(int, sys.argv[2:4]), sys.argv[4], int(sys.argv[5])
    rest = sys.argv[6:]
    svcs = services(n, eps, target)
    cc = os.environ["SVC_CLUSTER_CIDR"]
    if mode == "manifests":
        manifests(rest[0], svcs, tport, rest[1], int(rest[2]))
    elif mode == "ipt":
        sys.stdout.write(ipt(svcs, tport, cc))
    elif mode == "nft":
        sys.stdout.write(nft(svcs, tport, cc))
    elif mode == "ipt-change":
        sys.stdout.write(ipt_change(svcs, tport, cc, rest[0], rest[1]))
    elif mode == "nft-change":
        sys.stdout.write(nft_change(svcs, tport, cc, rest[0], rest[1]))
    elif mode == "watch":
        watch(rest[0], rest[1], svcs, tport, int(rest[2]))
    elif mode == "vip":
        print(svcs[-1][1])
    elif mode == "endpoints":
        print(" ".join(svcs[-1][2]))
    else:
        sys.exit(f"unknown mode {mode}")
PY
}

# --- configurations ------------------------------------------------------

# bridge_node CFG N: a node netns with the bridge plugin's client and server
# pods, br_netfilter on in that netns; sets NODE, CLI_NS, SRV_NS, SRV_IP.
bridge_node() {
	local combo=$1$2 pod role out ip v
	local conf=$BENCH_WORK/bridge.conflist
	# datapath.sh's bridge, with the bridge as the pods' default gateway
	# (as kubenet has it): ClusterIPs are outside the pod subnet.
	if [[ ! -f $conf ]]; then
		bridge_conflist "$conf.base"
		jq '.plugins[0].isDefaultGateway = true' "$conf.base" >"$conf"
	fi
	bns_add NODE "$combo"
	# Per netns since Linux 5.3 (and 1 by default in a new netns): look,
	# and write only inside the node.
	v=$(bns_exec "$NODE" cat /proc/sys/net/bridge/bridge-nf-call-iptables \
		2>/dev/null || echo missing)
	if [[ $v != 1 ]]; then
		if [[ $v == missing ]] || ! awk -v r="$(uname -r)" 'BEGIN {
			split(r, a, /[.-]/); exit !(a[1] > 5 || (a[1] == 5 && a[2] >= 3)) }'; then
			STATUS[$combo]="skipped: br_netfilter sysctl $v, not per netns here"
			return 1
		fi
		bns_exec "$NODE" sysctl -qw net.bridge.bridge-nf-call-iptables=1
	fi
	for role in c s; do
		bns_add pod "$combo$role"
		local run=(env CNI_PATH="$BENCH_REF_CNI" "$CNIRUN")
		local args=(-conflist "$conf" -netns "/run/netns/$pod"
			-cid "slb-$BENCH_ID-$combo$role" -cache "$BENCH_WORK/bcache")
		out=$(bns_exec "$NODE" "${run[@]}" add "${args[@]}")
		BENCH_CLEANUPS+=("bns_exec $NODE ${run[*]} del ${args[*]}")
		ip=$(jq -r '.ips[0].address' <<<"$out")
		if [[ $role == c ]]; then
			CLI_NS[$combo]=$pod
		else
			SRV_NS[$combo]=$pod SRV_IP=${ip%/*}
		fi
	done
}

# setup_ipt CFG N: kube-proxy's iptables ruleset (i: the system's
# iptables-restore, l: iptables-legacy-restore).
setup_ipt() {
	local cfg=$1 n=$2 restore=iptables-restore t0 f
	[[ $cfg == l ]] && restore=iptables-legacy-restore
	bridge_node "$cfg" "$n" || return 1
	f=$BENCH_WORK/$cfg$n.rules
	svcgen ipt "$n" 1 "$SRV_IP" "$RR_PORT" >"$f"
	t0=$EPOCHREALTIME
	bns_exec "$NODE" "$restore" <"$f"
	SETUP[$cfg$n]="$restore $(secs_since "$t0") s, $(grep -c '^-A' "$f") rules"
	VIP[$cfg$n]=$(svcgen vip "$n" 1 "$SRV_IP" "$RR_PORT")
}

setup_nft() {
	local n=$2 t0 f
	bridge_node n "$n" || return 1
	f=$BENCH_WORK/n$n.nft
	svcgen nft "$n" 1 "$SRV_IP" "$RR_PORT" >"$f"
	t0=$EPOCHREALTIME
	bns_exec "$NODE" nft -f "$f"
	SETUP[n$n]="nft -f $(secs_since "$t0") s, $(grep -c '^add chain' "$f") chains"
	VIP[n$n]=$(svcgen vip "$n" 1 "$SRV_IP" "$RR_PORT")
}

# agent_counts NODE: "FRONTENDS BACKENDS" from sluicectl status, or "- -".
agent_counts() {
	ctl "$1" -o json status 2>/dev/null |
		jq -r '"\(.objects.Frontend) \(.objects.Backend)"' 2>/dev/null ||
		echo "- -"
}

# wait_programmed NODE FRONTENDS BACKENDS TIMEOUT PID: until the agent
# reports that many in its maps; fails if the agent dies or time is up.
wait_programmed() {
	local node=$1 fe=$2 be=$3 deadline=$((SECONDS + $4)) pid=$5 f b
	while ((SECONDS < deadline)); do
		read -r f b < <(agent_counts "$node") || true
		[[ $f == "$fe" && $b == "$be" ]] && return 0
		kill -0 "$pid" 2>/dev/null || { log "sluiced on $node died"; return 1; }
		sleep 0.01
	done
	log "sluiced on $node: $f frontends, $b backends after $4 s" \
		"(want $fe, $be): $(tail -3 "$BENCH_WORK/agent-$node.log")"
	return 1
}

# snapshot_bins: copies of the plugin, agent and CLI for the whole run, in
# SNAP (empty when there are none): other work in the tree may rebuild
# build/bin meanwhile, and a run must measure one build. Waits (3 min at
# most) until the binaries are there and 5 s old, i.e. not being linked.
SNAP=''

SL_NODES=0
SL_AGENTS=()
setup_ours() {
	local n=$2 node ip out want dir
	if [[ -z $SNAP ]]; then
		STATUS[x$n]="skipped: build/bin/sluice, sluiced or sluicectl is missing (run make first)"
		return 1
	fi
	((SL_NODES++ == 0)) && cluster_start
	node=s$SL_NODES
	if ! node_add "$node" "$SL_NODES" >>"$BENCH_WORK/x.log" 2>&1 ||
	   ! pod_add "$node" c bench >>"$BENCH_WORK/x.log" 2>&1 ||
	   ! ip=$(pod_add "$node" s bench 2>>"$BENCH_WORK/x.log"); then
		STATUS[x$n]="failed: $(tail -3 "$BENCH_WORK/x.log")"
		return 1
	fi
	CLI_NS[x$n]=$(pod_ns "$node" c) SRV_NS[x$n]=$(pod_ns "$node" s)
	VIP[x$n]=$(svcgen vip "$n" 1 "$ip" "$RR_PORT")
	dir=$BENCH_WORK/manifests-$node
	mkdir -p "$dir"
	svcgen manifests "$n" 1 "$ip" "$RR_PORT" "$dir" "$node" "$SL_NODES"
	agent_start "$node" "$dir"
	SL_AGENTS+=("$AGENT")
	if ! wait_programmed "$node" "$n" "$n" 120 "$AGENT"; then
		STATUS[x$n]="failed: sluiced did not program $n Services (see above)"
		return 1
	fi
	SETUP[x$n]="sluiced $(secs_since "$AGENT_T0") s from start to $n frontends"
	want="$ip:$RR_PORT"
	out=$(ctl "$node" -o json services | jq -r --arg f "${VIP[x$n]}:$SVC_PORT/TCP" \
		'[.[] | select(.frontend == $f) | .backends[].address] | join(",")')
	if [[ $out != "$want" ]]; then
		STATUS[x$n]="failed: frontend ${VIP[x$n]}:$SVC_PORT has backends '$out', want $want"
		return 1
	fi
}

start_server() { # COMBO
	bench_bg "$BENCH_WORK/$1.server.log" "${SRV_NS[$1]}" taskset -c 1 \
		"$RR" server -p "$RR_PORT"
	wait_listen "${SRV_NS[$1]}" "$RR_PORT"
}

# --- measuring (as datapath.sh) ---------------------------------------------

# run_rr COMBO MODE: sets R_RATE R_P50 R_P99 R_ERR.
run_rr() {
	local combo=$1 out
	if ! out=$(bns_exec "${CLI_NS[$combo]}" taskset -c 0 "$RR" client \
		-H "${VIP[$combo]}" -p "$SVC_PORT" -m "$2" -t "$SECS" 2>&1); then
		log "$combo $2 failed: $out"
		echo "$out" >>"$BENCH_WORK/$combo.errors"
		return 1
	fi
	R_RATE=$(field "$out" rate) R_P50=$(field "$out" p50_us)
	R_P99=$(field "$out" p99_us) R_ERR=$(field "$out" errors)
}

# measure COMBO TEST: appends "REP RATE P50 P99 ERRORS CLEAN" to
# res/COMBO.TEST; a run during which other processes used more than
# BUSY_PCT % of a CPU is redone up to RETRIES times (see datapath.sh).
measure() {
	local combo=$1 t=$2
	measure_clean "$combo" "$t" run_rr "$combo" "$t" || return 0
	printf ' %s/s' "$R_RATE" >&2
	((R_CLEAN)) || printf '(kept, busy)' >&2
	return 0
}

# --- report ----------------------------------------------------------------





ok() { # COMBO: measured
	[[ -z ${STATUS[$1]:-} && -f $BENCH_WORK/res/$1.crr ]]
}

# ratio_row NAME A B GOAL: ratios of A over B for CRR and RR, and whether
# the CRR one meets GOAL (when given).
ratio_row() {
	local res=$BENCH_WORK/res r verdict=""
	ok "$2" && ok "$3" || return 0
	r=$(ratio "$(res_med "$res/$2.crr")" "$(res_med "$res/$3.crr")")
	if [[ -n ${4:-} ]]; then
		verdict=$(awk -v r="$r" -v g="$4" 'BEGIN {
			print (r != "-" && r >= g) ? "met" : "NOT met" }')
		verdict="goal >= $4: $verdict"
	fi
	printf '%-30s %-26s %-26s %s\n' "$1" \
		"$r ($(res_paired "$res/$2.crr" "$res/$3.crr"))" \
		"$(ratio "$(res_med "$res/$2.rr")" "$(res_med "$res/$3.rr")") ($(res_paired \
			"$res/$2.rr" "$res/$3.rr"))" "$verdict"
}

name() { # COMBO: e.g. sluice@10000
	local l=${LABEL[${1:0:1}]}
	echo "${l#* }@${1:1}"
}

report() {
	local cfg n c res=$BENCH_WORK/res s noisy=0
	echo "sluice Services benchmark: pod -> ClusterIP:$SVC_PORT -> one backend pod on the same node"
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $REPS reps x ${SECS} s (+1 s warm-up), client CPU0," \
		"server CPU1; the target Service is the last of N in iptables order"
	echo "start: $START_ENV"
	echo "end:   $(bench_env_line)"
	echo "sluice: $BUILD_INFO"
	echo
	echo "Median [min-max] over the clean runs, n clean/all (* = none clean, all used);"
	echo "latency: median over the runs of each run's percentile (us)"
	printf '%-16s %6s  %-26s %-26s %7s %7s %7s %7s %6s\n' config services \
		"TCP_CRR (conn/s)" "TCP_RR (trans/s)" "CRR p50" "CRR p99" "RR p50" \
		"RR p99" "errors"
	for cfg in $CONFIGS; do
		for n in $COUNTS; do
			c=$cfg$n
			if [[ -n ${STATUS[$c]:-} ]]; then
				printf '%-16s %6s  %s\n' "${LABEL[$cfg]}" "$n" "${STATUS[$c]}"
				continue
			fi
			printf '%-16s %6s  %-26s %-26s %7s %7s %7s %7s %6s\n' \
				"${LABEL[$cfg]}" "$n" "$(res_cell "$res/$c.crr")" \
				"$(res_cell "$res/$c.rr")" "$(res_med "$res/$c.crr" 3)" \
				"$(res_med "$res/$c.crr" 4)" "$(res_med "$res/$c.rr" 3)" \
				"$(res_med "$res/$c.rr" 4)" "$(cat "$res/$c.crr" "$res/$c.rr" \
					2>/dev/null | awk '{ s += $5 } END { print s + 0 }')"
		done
	done
	echo
	echo "Ratios of the medians, and in brackets the median [min-max] of the"
	echo "per-repetition (paired) ratios"
	printf '%-30s %-26s %-26s\n' "" TCP_CRR TCP_RR
	ratio_row "$(name "x$LAST") / $(name "x$FIRST")" "x$LAST" "x$FIRST" 0.95
	for cfg in $CONFIGS; do
		[[ $cfg == x ]] && continue
		ratio_row "$(name "x$LAST") / $(name "$cfg$LAST")" "x$LAST" "$cfg$LAST" \
			"$([[ $cfg == i ]] && echo 2)"
	done
	for cfg in $CONFIGS; do
		[[ $cfg == x ]] && continue
		ratio_row "$(name "$cfg$LAST") / $(name "$cfg$FIRST")" "$cfg$LAST" "$cfg$FIRST"
	done
	for cfg in $CONFIGS; do
		[[ $cfg == x ]] && continue
		ratio_row "$(name "x$FIRST") / $(name "$cfg$FIRST")" "x$FIRST" "$cfg$FIRST"
	done
	echo
	echo "Setup (the node netns of each pair, loaded once):"
	for cfg in $CONFIGS; do
		for n in $COUNTS; do
			[[ -n ${SETUP[$cfg$n]:-} ]] &&
				printf '  %-22s %s\n' "$(name "$cfg$n")" "${SETUP[$cfg$n]}"
		done
	done
	echo "Clean run: other processes used at most ${BUSY_PCT}% of a CPU while it ran;" \
		"$(wc -l <"$res/redone") runs redone, $(cat "$res"/*.rr "$res"/*.crr \
		2>/dev/null | awk '$6 == 0' | wc -l) kept busy."
	for cfg in $CONFIGS; do
		for n in $COUNTS; do
			ok "$cfg$n" || continue
			for t in crr rr; do
				read -r m lo hi < <(stat3 <(res_rows "$res/$cfg$n.$t" | awk '{ print $2 }'))
				s=$(awk -v m="$m" -v lo="$lo" -v hi="$hi" \
					'BEGIN { printf "%.0f", (m > 0 ? (hi - lo) / m * 100 : 0) }')
				if ((s > 10)); then
					echo "noisy: $(name "$cfg$n") $t spread ${s}% of the median"
					noisy=1
				fi
			done
			[[ -s $BENCH_WORK/$cfg$n.errors ]] &&
				echo "failed runs in $(name "$cfg$n"): see $cfg$n.errors"
		done
	done
	((noisy)) && echo "(spread above 10%: trust the paired ratios' ranges)"
	return 0
}

# --- control plane ------------------------------------------------------------

# timed OUT NS CMD...: run CMD in NS with stdin as given; append its
# duration in seconds to OUT.
timed() {
	local out=$1 ns=$2 t0
	shift 2
	t0=$EPOCHREALTIME
	bns_exec "$ns" "$@"
	awk -v t0="$t0" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", t1 - t0 }' >>"$out"
}

control_plane() {
	local node=cp dir=$BENCH_WORK/manifests-cp fake=10.127.0.1 n=$CP_SVCS e=$CP_EPS
	local eps=$((CP_SVCS * CP_EPS)) conv rss hwm rss0 lat=$BENCH_WORK/cp.lat
	local ns f i old new eplist r memlock
	[[ -n $SNAP ]] || { log "control plane: no sluice build (run make first)"; return 1; }
	[[ -n ${SL_STATE:-} ]] || cluster_start
	if ! node_add "$node" 20 >>"$BENCH_WORK/x.log" 2>&1 ||
	   ! pod_add "$node" p bench >>"$BENCH_WORK/x.log" 2>&1; then # loads the datapath
		log "control plane: node or pod failed: $(tail -3 "$BENCH_WORK/x.log")"
		return 1
	fi
	mkdir -p "$dir" "$BENCH_WORK/empty"
	svcgen manifests "$n" "$e" "$fake" "$RR_PORT" "$dir" "$node" 20

	log "control plane: sluiced, $n Services x $e endpoints"
	agent_start "$node" "$BENCH_WORK/empty"
	wait_programmed "$node" 0 0 30 "$AGENT"
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT/status")
	agent_stop "$AGENT"

	agent_start "$node" "$dir"
	wait_programmed "$node" "$n" "$eps" 300 "$AGENT"
	conv=$(secs_since "$AGENT_T0")
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT/status")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT/status")
	memlock=$(for f in sl_services sl_backends; do
		bpftool -j map show pinned "$(node_bpf_root "$node")/$f"; echo; done |
		jq -rs 'map("\(.name) \(.bytes_memlock / 1048576 | floor) MiB") | join(", ")' \
		2>/dev/null || echo "?")
	svcgen watch "$n" "$e" "$fake" "$RR_PORT" "$(node_bpf_root "$node")" "$dir" \
		"$CHANGES" >"$lat"
	agent_stop "$AGENT"
	for f in slice add del; do
		awk -v k="$f" '$1 == k { print $2 }' "$lat" >"$lat.$f"
	done

	# kube-proxy's rulesets for the same Services, each in a fresh netns.
	svcgen ipt "$n" "$e" "$fake" "$RR_PORT" >"$BENCH_WORK/cp.rules"
	svcgen nft "$n" "$e" "$fake" "$RR_PORT" >"$BENCH_WORK/cp.nft"
	read -r -a eplist < <(svcgen endpoints "$n" "$e" "$fake" "$RR_PORT")
	for r in iptables-nft iptables-legacy nft; do
		[[ $r == nft && $CP_NFT == 0 ]] && continue
		log "control plane: $r, full load"
		bns_add ns "cp-$r"
		if [[ $r == nft ]]; then
			timed "$BENCH_WORK/cp.$r.full" "$ns" nft -f "$BENCH_WORK/cp.nft"
		else
			timed "$BENCH_WORK/cp.$r.full" "$ns" "$r-restore" <"$BENCH_WORK/cp.rules"
		fi
		old=${eplist[-1]}
		for i in 1 2 3; do
			new=10.201.0.$i
			if [[ $r == nft ]]; then
				svcgen nft-change "$n" "$e" "$fake" "$RR_PORT" "$old" "$new" \
					>"$BENCH_WORK/cp.change"
				timed "$BENCH_WORK/cp.$r.change" "$ns" nft -f "$BENCH_WORK/cp.change"
			else
				svcgen ipt-change "$n" "$e" "$fake" "$RR_PORT" "$old" "$new" \
					>"$BENCH_WORK/cp.change"
				timed "$BENCH_WORK/cp.$r.change" "$ns" "$r-restore" --noflush \
					<"$BENCH_WORK/cp.change"
			fi
			old=$new
		done
		ip netns del "$ns"
	done

	echo "Control plane: $n Services x $e endpoints ($eps endpoints), $(date -u +%Y-%m-%dT%H:%MZ)"
	printf '%-54s %s s\n' "sluiced, start to all frontends+backends in the maps" "$conv"
	printf '%-54s %.1f MiB (peak %.1f), empty source %.1f MiB\n' "sluiced RSS" \
		"$(bc -l <<<"$rss/1024")" "$(bc -l <<<"$hwm/1024")" "$(bc -l <<<"$rss0/1024")"
	printf '%-54s %s\n' "BPF map memory (memlock)" "$memlock"
	for f in "slice:endpoint change (slice renamed) -> sl_services slots" \
		"add:Service added (file renamed in) -> frontend, slots" \
		"del:Service removed (file deleted) -> frontend gone"; do
		read -r a b c < <(ms_pcts "$lat.${f%%:*}")
		printf '%-54s p50 %s ms, p99 %s ms, max %s ms (%d), goal p50 < 10 ms: %s\n' \
			"${f#*:}" "$a" "$b" "$c" "$(wc -l <"$lat.${f%%:*}")" \
			"$(awk -v a="$a" 'BEGIN { print a < 10 ? "met" : "NOT met" }')"
	done
	printf '%-54s %s lines, %s chains\n' "kube-proxy iptables ruleset" \
		"$(wc -l <"$BENCH_WORK/cp.rules")" "$(grep -c '^:' "$BENCH_WORK/cp.rules")"
	for r in iptables-nft iptables-legacy nft; do
		[[ -f $BENCH_WORK/cp.$r.full ]] || { printf '%-54s skipped\n' "$r full load"; continue; }
		printf '%-54s %s s\n' "$([[ $r == nft ]] && echo "nft -f (kube-proxy nftables), full load" ||
			echo "$r-restore, full load")" "$(cat "$BENCH_WORK/cp.$r.full")"
		printf '%-54s %s ms (median of 3: %s)\n' "  one endpoint change ($([[ $r == nft ]] &&
			echo "one transaction" || echo "--noflush partial sync"))" \
			"$(stat3 "$BENCH_WORK/cp.$r.change" | awk '{ printf "%.0f", $1 * 1000 }')" \
			"$(awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 * 1000 }' \
				"$BENCH_WORK/cp.$r.change")"
	done
	echo "(rule loads: the command's wall time in the node netns, not kube-proxy's"
	echo " own work nor its 1 s minSyncPeriod; sluiced: rename to map, all included)"
}

# --- main ----------------------------------------------------------------

main() {
	local cfg n t c active=()
	bench_init services
	bench_build
	for t in jq python3 bc taskset; do
		command -v "$t" >/dev/null || { log "$t is missing"; exit 1; }
	done
	# The control plane alone: no configuration, no repetition, no report.
	((DP)) || { CONFIGS=""; REPS=0; }
	[[ " $CONFIGS " == *" i "* || $CP == 1 ]] && ! command -v iptables-restore >/dev/null &&
		{ log "iptables is missing (hack/deps.sh bench)"; exit 1; }
	[[ " $CONFIGS " == *" n "* || $CP == 1 ]] && ! command -v nft >/dev/null &&
		{ log "nft is missing (hack/deps.sh bench)"; exit 1; }
	mkdir -p "$BENCH_WORK/res" "$BENCH_OUT"
	: >"$BENCH_WORK/res/redone"
	write_svcgen
	BUILD_INFO="no sluice build"
	[[ " $CONFIGS " == *" x "* || $CP == 1 ]] && snapshot_bins
	START_ENV=$(bench_env_line)

	for cfg in $CONFIGS; do
		for n in $COUNTS; do
			c=$cfg$n
			log "setting up $(name "$c")"
			case $cfg in
			x) setup_ours x "$n" || { log "${STATUS[$c]}"; continue; } ;;
			i | l) setup_ipt "$cfg" "$n" || { log "${STATUS[$c]}"; continue; } ;;
			n) setup_nft n "$n" || { log "${STATUS[$c]}"; continue; } ;;
			*) log "unknown configuration $cfg"; exit 2 ;;
			esac
			client_tune "${CLI_NS[$c]}"
			if ! start_server "$c"; then
				STATUS[$c]="failed: server did not start"
				continue
			fi
			active+=("$c")
		done
	done

	for ((REP = 1; REP <= REPS; REP++)); do
		for t in crr rr; do
			printf 'rep %d/%d %-4s' "$REP" "$REPS" "$t" >&2
			for c in "${active[@]}"; do
				printf ' %s' "$c" >&2
				measure "$c" "$t"
			done
			echo >&2
		done
	done

	if ((DP)); then
		report | tee "$BENCH_OUT/services.txt"
	else
		: >"$BENCH_OUT/services.txt"
	fi
	if [[ $CP == 1 ]]; then
		# The datapath's agents are done: stop them, and not in a pipe
		# (a subshell) where their pids would be lost on failure.
		for c in "${SL_AGENTS[@]}"; do
			agent_stop "$c"
		done
		control_plane >"$BENCH_WORK/cp.txt"
		{ echo; cat "$BENCH_WORK/cp.txt"; } | tee -a "$BENCH_OUT/services.txt"
	fi
}

main "$@"
