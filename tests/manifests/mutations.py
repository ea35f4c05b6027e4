# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
The checks can fail: each mutation below breaks one thing in a copy of the
tree (a manifest, the Dockerfile, the agent's code), runs check.py on the
copy, and passes only when check.py fails with the expected message. A
mutation whose text is no longer in its file fails too, so this list keeps
up with the files it breaks.

    python3 mutations.py [NAME-GLOB]

The "scripts" mutations break hack/image/ and run scripts.sh (root).
"""
import concurrent.futures
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.realpath(os.path.join(HERE, "..", ".."))
CHECK = os.path.join(HERE, "check.py")

DS = "manifests/40-daemonset.yaml"
CM = "manifests/30-configmap.yaml"
RBAC = "manifests/20-rbac.yaml"
UDS = "manifests/uninstall/10-daemonset.yaml"
WATCH = "agent/k8s_watch.c"

NETPOL_ENTRY = '"networking.k8s.io/v1", "NetworkPolicy", SL_KIND_NETPOL, true, true },\n'

# (name, section, [edits], expected text in a FAIL line). An edit is
# (file, old, new) replacing the first occurrence, or ("rename", a, b).
MUTATIONS = [
    # 1. schema
    ("no-apiversion", "schema",
     [("manifests/10-serviceaccount.yaml", "apiVersion: v1\n", "")],
     "no apiVersion"),
    ("selector-not-in-template", "schema",
     [(DS, "      app.kubernetes.io/component: agent\n  # One node",
       "      app.kubernetes.io/component: agnt\n  # One node")],
     "is not a label of the template"),
    ("mount-of-undeclared-volume", "schema",
     [(DS, "- name: run-dir\n              mountPath",
       "- name: rundir\n              mountPath")],
     "names no volume"),
    ("hostpath-without-path", "schema",
     [(DS, "            path: /var/run/sluice\n", "")],
     "hostPath without an absolute path"),
    ("container-without-image", "schema",
     [(DS, "        - name: agent\n          image: sluice:dev\n",
       "        - name: agent\n")],
     "no image"),
    ("probe-on-other-port", "schema",
     [(DS, "path: /healthz\n              port: 9962",
       "path: /healthz\n              port: 9963")],
     "readinessProbe is GET /healthz on the --metrics-listen port"),
    ("probe-other-path", "schema",
     [(DS, "path: /healthz\n              port: 9962\n            initialDelay",
       "path: /health\n              port: 9962\n            initialDelay")],
     "livenessProbe is GET /healthz"),
    ("namespaced-without-namespace", "schema",
     [(CM, "  namespace: sluice-system\n", "")],
     "without metadata.namespace"),
    ("binding-names-other-account", "schema",
     [(RBAC, "  - kind: ServiceAccount\n    name: sluice-agent",
       "  - kind: ServiceAccount\n    name: sluice")],
     "is the binding's subject"),
    ("configmap-boolean-value", "schema",
     [(CM, 'flow-events: "on"', "flow-events: on")],
     "not a string"),
    ("namespace-applied-after", "schema",
     [("rename", "manifests/00-namespace.yaml", "manifests/90-namespace.yaml")],
     "is not created before it"),
    ("kind-not-in-table", "schema",
     [(RBAC, "---\n", "---\napiVersion: rbac.authorization.k8s.io/v1\n"
       "kind: Role\nmetadata: {name: x, namespace: sluice-system}\n"
       "rules: []\n---\n")],
     "not in the test's schema table"),
    ("prestop-hook", "schema",
     [(DS, "          command: [\"/usr/local/bin/sluiced\"]\n",
       "          command: [\"/usr/local/bin/sluiced\"]\n          lifecycle:\n"
       "            preStop:\n              exec:\n"
       "                command: [\"rm\", \"-rf\", \"/sys/fs/bpf/sluice\"]\n")],
     "has no preStop"),
    ("uninstall-picked-by-apply", "schema",
     [("rename", UDS, "manifests/50-uninstall.yaml")],
     "runs no uninstall"),
    ("not-host-network", "schema",
     [(DS, "      hostNetwork: true", "      hostNetwork: false")],
     "hostNetwork"),
    ("bpffs-not-bidirectional", "schema",
     [(DS, "              mountPath: /sys/fs/bpf\n              mountPropagation: "
       "Bidirectional\n            # The host's",
       "              mountPath: /sys/fs/bpf\n            # The host's")],
     "/sys/fs/bpf there, Bidirectional"),
    ("not-every-node", "schema",
     [(DS, "        - operator: Exists", "        - key: x\n          operator: Exists")],
     "tolerates every taint"),
    ("max-unavailable", "schema",
     [(DS, "maxUnavailable: 1", "maxUnavailable: 2")],
     "maxUnavailable 1"),
    # 2. rbac
    ("rbac-missing-verb", "rbac",
     [(RBAC, 'verbs: ["get", "list", "watch"]', 'verbs: ["get", "list"]')],
     "has list and watch"),
    ("rbac-extra-resource", "rbac",
     [(RBAC, '"nodes", "services"]', '"nodes", "services", "secrets"]')],
     "grant core/secrets is requested by the agent"),
    ("rbac-extra-verb", "rbac",
     [(RBAC, 'verbs: ["get", "list", "watch"]',
       'verbs: ["get", "list", "watch", "patch"]')],
     "verbs are get/list/watch only"),
    ("rbac-wildcard", "rbac",
     [(RBAC, '["endpointslices"]', '["*"]')],
     "grant discovery.k8s.io/* is requested"),
    ("rbac-missing-resource", "rbac",
     [(RBAC, '"pods", "namespaces"', '"namespaces"')],
     "grant for core/pods"),
    ("agent-watches-new-resource", "rbac",
     [(WATCH, NETPOL_ENTRY, NETPOL_ENTRY +
       '\t{ "configmaps", "/api/v1/configmaps", "v1", "ConfigMap",\n'
       '\t  SL_KIND_OTHER, true, false },\n')],
     "grant for core/configmaps"),
    ("agent-requests-outside-table", "rbac",
     [("agent/main.c", "static void usage(FILE *out)",
       "static const char *lease_path =\n"
       "\t\"/apis/coordination.k8s.io/v1/namespaces/%s/leases\";\n\n"
       "static void usage(FILE *out)")],
     "grant for coordination.k8s.io/leases"),
    ("agent-path-unparseable", "rbac",
     [("agent/main.c", "static void usage(FILE *out)",
       "static const char *any_path = \"/api/v1/%s\";\n\n"
       "static void usage(FILE *out)")],
     "names a resource"),
    # 3. cni
    ("conflist-not-json", "cni",
     [(CM, '"name": "sluice",', '"name": "sluice"')],
     "is JSON"),
    ("conflist-unknown-key", "cni",
     [(CM, '"runDir": "/var/run/sluice"',
       '"runDir": "/var/run/sluice",\n          "rundir": "/run/x"')],
     "every key of the plugin entry"),
    ("conflist-rejected-value", "cni",
     [(CM, '"type": "sluice",', '"type": "sluice",\n          "mtu": 70000,')],
     "plugin STATUS accepts the entry"),
    ("conflist-old-version", "cni",
     [(CM, '"cniVersion": "1.0.0",', '"cniVersion": "0.2.0",')],
     "plugin DEL accepts the entry at 0.2.0"),
    ("conflist-podcidr", "cni",
     [(CM, '"type": "sluice",', '"type": "sluice",\n          "podCIDR": "10.244.0.0/24",')],
     "no podCIDR"),
    ("conflist-other-bpfroot", "cni",
     [(CM, '"bpfRoot": "/sys/fs/bpf/sluice"', '"bpfRoot": "/sys/fs/bpf/other"')],
     "is the agent's --bpf-root"),
    ("conflist-installed-as-conf", "cni",
     [(DS, "value: 05-sluice.conflist", "value: 05-sluice.conf")],
     "a .conflist"),
    # 4. agent
    ("agent-unknown-flag", "agent",
     [(DS, "- --metrics-listen=:9962", "- --metrics-address=:9962")],
     "--metrics-address is a flag sluiced --help lists"),
    ("agent-missing-configmap-key", "agent",
     [(DS, "key: log-level", "key: loglevel")],
     "key loglevel exists"),
    ("agent-value-refused", "agent",
     [(CM, 'lb-algorithm: "random"', 'lb-algorithm: "roundrobin"')],
     "sluiced accepts the DaemonSet's args"),
    ("agent-undefined-variable", "agent",
     [(DS, "--log-level=$(LOG_LEVEL)", "--log-level=$(LOGLEVEL)")],
     "$(LOGLEVEL) is defined in env"),
    ("agent-not-in-cluster", "agent",
     [(DS, "- --metrics-listen=:9962", "- --metrics-listen=:9962\n"
       "            - --source=/etc/sluice")],
     "runs in-cluster"),
    ("agent-cgroup-not-mounted", "agent",
     [(CM, 'cgroup-root: "/sys/fs/cgroup"', 'cgroup-root: "/cgroup"')],
     "is the host's cgroup tree, mounted"),
    # 5. docker
    ("docker-unknown-package", "docker",
     [("Dockerfile", "libcurl4 \\", "libcurl4 libcurl9 \\")],
     "package libcurl9 exists in Debian 12"),
    ("docker-missing-library", "docker",
     [("Dockerfile", "\t\tlibyaml-0-2 \\\n", "")],
     "runtime stage installs libyaml-0-2"),
    ("docker-direct-library-unlisted", "docker",
     [("Dockerfile", "\t\tlibnl-3-200 libnl-route-3-200",
       "\t\tlibnl-route-3-200")],
     "libnl-3-200 is listed by name"),
    ("docker-copy-missing-file", "docker",
     [("Dockerfile", "COPY hack/image/install.sh", "COPY hack/image/setup.sh")],
     "COPY hack/image/setup.sh exists"),
    ("docker-copy-ignored", "docker",
     [(".dockerignore", "build\n", "build\nhack/image\n")],
     "excluded by .dockerignore"),
    ("docker-not-debian", "docker",
     [("Dockerfile", "FROM debian:12 AS build", "FROM ubuntu:22.04 AS build")],
     "is Debian 12"),
    ("docker-download", "docker",
     [("Dockerfile", 'RUN make -j"$(nproc)"',
       'RUN curl -sSfLO https://example.com/x && make -j"$(nproc)"')],
     "downloads only Debian packages"),
    ("docker-command-not-in-image", "docker",
     [(DS, 'command: ["/usr/local/bin/sluiced"]', 'command: ["/usr/bin/sluiced"]')],
     "which the image has"),
    ("docker-script-not-executable", "docker",
     [("chmod", "hack/image/install.sh", 0o644)],
     "install.sh is executable"),
    # hack/image/ scripts, run for real by scripts.sh (root only)
    ("install-writes-in-place", "scripts",
     [("hack/image/install.sh", 'mv -f "$tmp" "$dir/$name"',
       'cat "$tmp" >"$dir/$name"; rm -f "$tmp"')],
     "a changed conflist is renamed over the old one"),
    ("install-no-bpffs-mount", "scripts",
     [("hack/image/install.sh", "\tmount -t bpf bpffs", "\t: mount -t bpf bpffs")],
     "install.sh mounted a bpffs"),
    ("uninstall-under-running-agent", "scripts",
     [("hack/image/uninstall.sh", 'if "$SLUICECTL"', 'if false && "$SLUICECTL"')],
     "uninstall.sh refuses while the agent answers"),
    ("uninstall-leaves-tc", "scripts",
     [("hack/image/uninstall.sh", "\t\t\ttc filter del", "\t\t\t: tc filter del")],
     "tc programs detached"),
    ("uninstall-leaves-cgroup", "scripts",
     [("hack/image/uninstall.sh", "\t\t\tbpftool cgroup detach",
       "\t\t\t: bpftool cgroup detach")],
     "cgroup programs detached"),
    # uninstall
    ("uninstall-other-conflist", "uninstall",
     [(UDS, "value: 05-sluice.conflist", "value: 10-sluice.conflist")],
     "removes the conflist name the install writes"),
    ("uninstall-other-bpfroot", "uninstall",
     [(UDS, "value: /host/sys/fs/bpf/sluice", "value: /host/sys/fs/bpf/sluice2")],
     "BPF_ROOT is the agent's --bpf-root"),
    ("uninstall-other-image", "uninstall",
     [(UDS, "image: sluice:dev", "image: sluice:old")],
     "the same image as the install"),
]


def apply(tmp, edits):
    """None, or why the mutation no longer applies."""
    for e in edits:
        if e[0] == "rename":
            os.rename(os.path.join(tmp, e[1]), os.path.join(tmp, e[2]))
            continue
        if e[0] == "chmod":
            os.chmod(os.path.join(tmp, e[1]), e[2])
            continue
        path, old, new = e
        full = os.path.join(tmp, path)
        with open(full) as f:
            text = f.read()
        if old not in text:
            return f"{old!r} is no longer in {path}"
        with open(full, "w") as f:
            f.write(text.replace(old, new, 1))
    return None


def one(m):
    name, section, edits, expect = m
    with tempfile.TemporaryDirectory(prefix="sluice-mutation.") as tmp:
        root = os.path.join(tmp, "tree")
        shutil.copytree(REPO, root, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", "build"))
        stale = apply(root, edits)
        if stale:
            return name, False, f"stale mutation: {stale}"
        if section == "scripts":
            argv = ["unshare", "--mount", "--net", "--propagation", "private",
                    "bash", os.path.join(root, "tests", "manifests", "scripts.sh")]
        else:
            argv = [sys.executable, CHECK, "--root", root, "--build",
                    os.path.join(REPO, "build"), "--only", section]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PY=sys.executable,
                                    SLUICE_BUILD=os.path.join(REPO, "build")))
        fails = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
        hit = [l for l in fails if expect in l]
        if p.returncode != 0 and hit:
            return name, True, hit[0]
        return name, False, (f"check.py exited {p.returncode}; expected a "
                             f"FAIL with {expect!r}, got: " +
                             (" | ".join(fails) or "no FAIL line") +
                             (p.stderr.strip()[-500:] and
                              " | stderr: " + p.stderr.strip()[-500:]))


def main():
    pat = sys.argv[1] if len(sys.argv) > 1 else "*"
    todo = [m for m in MUTATIONS if fnmatch.fnmatch(m[0], pat)]
    if os.geteuid() != 0:
        skipped = [m for m in todo if m[1] == "scripts"]
        todo = [m for m in todo if m[1] != "scripts"]
        if skipped:
            print(f"skip  {len(skipped)} script mutations (need root)")
    elif not os.path.isdir("/sys/fs/cgroup/unified") and \
            subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"],
                           capture_output=True, text=True).stdout.strip() \
            != "cgroup2fs":
        # scripts.sh runs the agent without a cgroup then: nothing to detach.
        todo = [m for m in todo if m[0] != "uninstall-leaves-cgroup"]
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for name, good, why in ex.map(one, todo):
            if good:
                print(f"ok    mutation {name}: caught ({why[6:]})")
            else:
                bad += 1
                print(f"FAIL  mutation {name}: {why}")
    print(f"{len(todo) - bad}/{len(todo)} mutations caught")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
