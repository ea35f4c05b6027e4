# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Offline checks of manifests/, the Dockerfile and what they name, against
the code and the built binaries. No cluster, no kubectl, no network: the
Kubernetes rules used are written down here, in KINDS and the validators.

    python3 check.py [--root DIR] [--build DIR] [--only SECTION,...]

Sections:
  schema  every YAML file parses; each object has what the API server
          requires for its kind; namespaces exist and come first; the
          binding names the account the DaemonSet runs as; the install's
          DaemonSet has what the issue asks (hostNetwork, mounts, probes...)
  rbac    the ClusterRole grants exactly the resources the agent requests
          (from its source), with get/list/watch only
  cni     the conflist is JSON the real plugin accepts, with keys it reads
  agent   the agent's flags are in `sluiced --help` and its parser accepts
          their values; every ConfigMap key and variable referenced exists
  docker  packages exist in Debian 12, the runtime stage installs the
          package of every library the binaries load, COPY sources exist
  uninstall  the uninstall set names what the install set installed

--root is the tree checked (default: this repository); --build the build
directory holding bin/sluice, bin/sluiced and bin/sluicectl (default:
ROOT/build, or this repository's when ROOT has none). Prints one line per
check; exits 1 when one failed. mutations.py runs it on broken copies.
"""
import argparse
import fnmatch
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))

failures = 0


def ok(what):
    print(f"ok    {what}")


def fail(what, why):
    global failures
    failures += 1
    print(f"FAIL  {what}: {why}")


def check(cond, what, why):
    if cond:
        ok(what)
    else:
        fail(what, why)
    return cond


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


# --- loading ------------------------------------------------------------------


class Obj:
    """One object of a manifest file, with where it came from."""

    def __init__(self, doc, path, index, root):
        self.doc = doc
        self.path = path
        self.rel = os.path.relpath(path, root)
        self.index = index

    @property
    def kind(self):
        return self.doc.get("kind")

    @property
    def name(self):
        return (self.doc.get("metadata") or {}).get("name")

    @property
    def namespace(self):
        return (self.doc.get("metadata") or {}).get("namespace")

    def where(self):
        return f"{self.rel}#{self.index} {self.kind}/{self.name}"


def load_sets(root):
    """{set directory: [Obj]} for manifests/ and each subfolder, files in
    the order kubectl applies them (name order), or None on a parse error."""
    mdir = os.path.join(root, "manifests")
    sets = {}
    parsed = True
    for dirpath, dirnames, filenames in os.walk(mdir):
        dirnames.sort()
        objs = []
        for fn in sorted(filenames):
            if not fn.endswith((".yaml", ".yml", ".json")):
                continue
            path = os.path.join(dirpath, fn)
            try:
                with open(path) as f:
                    docs = list(yaml.safe_load_all(f))
            except yaml.YAMLError as e:
                fail(f"parse {os.path.relpath(path, root)}", str(e))
                parsed = False
                continue
            ok(f"parse {os.path.relpath(path, root)}")
            for i, d in enumerate(docs):
                if d is None:
                    continue  # an empty document, e.g. after a last ---
                objs.append(Obj(d, path, i, root))
        if objs:
            sets[os.path.relpath(dirpath, root)] = objs
    return sets if parsed else None


# --- the API's rules -----------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
RBAC_VERBS_READ = {"get", "list", "watch"}
HOSTPATH_TYPES = {"", "DirectoryOrCreate", "Directory", "FileOrCreate",
                  "File", "Socket", "CharDevice", "BlockDevice"}
PROPAGATION = {"None", "HostToContainer", "Bidirectional"}


def is_dns_label(s):
    return isinstance(s, str) and len(s) <= 63 and DNS_LABEL.match(s)


def is_dns_subdomain(s):
    return isinstance(s, str) and len(s) <= 253 and DNS_SUBDOMAIN.match(s)


def v_labels(o, where, errs):
    for k, v in (o or {}).items():
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
            errs.append(f"{where}: label {k}={v!r} is not a label value")


def v_metadata(obj, errs, name_rule=is_dns_subdomain):
    md = obj.doc.get("metadata")
    if not isinstance(md, dict):
        errs.append("no metadata")
        return
    if not name_rule(md.get("name")):
        errs.append(f"metadata.name {md.get('name')!r} is not a valid name")
    v_labels(md.get("labels"), "metadata.labels", errs)
    for k, v in (md.get("annotations") or {}).items():
        if not isinstance(v, str):
            errs.append(f"annotation {k} is {type(v).__name__}, not a string")


def v_nothing_more(obj, errs):
    """Namespace, ServiceAccount: metadata is all the API requires."""


def v_configmap(obj, errs):
    data = obj.doc.get("data") or {}
    if not isinstance(data, dict):
        errs.append("data is not a map")
        return
    for k, v in data.items():
        if not isinstance(k, str) or not CONFIGMAP_KEY.match(k):
            errs.append(f"data key {k!r} is not a valid key")
        if not isinstance(v, str):
            errs.append(f"data[{k}] is {type(v).__name__} {v!r}, not a "
                        "string (quote it)")


def v_clusterrole(obj, errs):
    rules = obj.doc.get("rules")
    if not isinstance(rules, list) or not rules:
        errs.append("no rules")
        return
    for i, r in enumerate(rules):
        for f in ("apiGroups", "resources", "verbs"):
            v = r.get(f)
            if not (isinstance(v, list) and v and
                    all(isinstance(x, str) for x in v)):
                errs.append(f"rules[{i}].{f} is not a list of strings")


def v_clusterrolebinding(obj, errs):
    rr = obj.doc.get("roleRef") or {}
    if rr.get("apiGroup") != "rbac.authorization.k8s.io":
        errs.append("roleRef.apiGroup is not rbac.authorization.k8s.io")
    if rr.get("kind") != "ClusterRole":
        errs.append("roleRef.kind of a ClusterRoleBinding must be ClusterRole")
    if not rr.get("name"):
        errs.append("roleRef.name missing")
    subjects = obj.doc.get("subjects")
    if not isinstance(subjects, list) or not subjects:
        errs.append("no subjects")
        return
    for i, s in enumerate(subjects):
        if s.get("kind") not in ("ServiceAccount", "User", "Group"):
            errs.append(f"subjects[{i}].kind {s.get('kind')!r}")
        if not s.get("name"):
            errs.append(f"subjects[{i}].name missing")
        if s.get("kind") == "ServiceAccount" and not s.get("namespace"):
            errs.append(f"subjects[{i}]: a ServiceAccount needs a namespace")


def containers_of(pod_spec):
    return [("initContainers", c) for c in pod_spec.get("initContainers") or []] + \
        [("containers", c) for c in pod_spec.get("containers") or []]


def v_probe(p, where, c, errs):
    if p is None:
        return
    handlers = [h for h in ("httpGet", "tcpSocket", "exec", "grpc") if h in p]
    if len(handlers) != 1:
        errs.append(f"{where}: exactly one handler needed, got {handlers}")
        return
    hg = p.get("httpGet")
    if hg is not None:
        if not str(hg.get("path", "/")).startswith("/"):
            errs.append(f"{where}.httpGet.path must start with /")
        port = hg.get("port")
        names = {pt.get("name") for pt in c.get("ports") or []}
        if not (isinstance(port, int) and 0 < port < 65536) and \
                port not in names:
            errs.append(f"{where}.httpGet.port {port!r} is neither a port "
                        "number nor a named container port")


def v_container(c, where, volumes, errs):
    if not is_dns_label(c.get("name")):
        errs.append(f"{where}: name {c.get('name')!r} is not a DNS label")
    if not isinstance(c.get("image"), str) or not c.get("image"):
        errs.append(f"{where}: no image")
    for f in ("command", "args"):
        v = c.get(f)
        if v is not None and not (isinstance(v, list) and
                                  all(isinstance(x, str) for x in v)):
            errs.append(f"{where}.{f} is not a list of strings")
    for e in c.get("env") or []:
        if not isinstance(e.get("name"), str) or not ENV_NAME.match(e["name"]):
            errs.append(f"{where}: env name {e.get('name')!r}")
        if ("value" in e) == ("valueFrom" in e):
            errs.append(f"{where}: env {e.get('name')} needs value or "
                        "valueFrom, not both")
        if "value" in e and not isinstance(e["value"], str):
            errs.append(f"{where}: env {e.get('name')} value is not a string")
    for pt in c.get("ports") or []:
        cp = pt.get("containerPort")
        if not (isinstance(cp, int) and 0 < cp < 65536):
            errs.append(f"{where}: containerPort {cp!r}")
        if "name" in pt and not (len(pt["name"]) <= 15 and
                                 PORT_NAME.match(pt["name"]) and
                                 re.search("[a-z]", pt["name"])):
            errs.append(f"{where}: port name {pt['name']!r}")
    mounts = set()
    for m in c.get("volumeMounts") or []:
        if m.get("name") not in volumes:
            errs.append(f"{where}: volumeMount {m.get('name')!r} names no "
                        "volume of the pod")
        mp = m.get("mountPath")
        if not isinstance(mp, str) or not mp.startswith("/"):
            errs.append(f"{where}: mountPath {mp!r} is not absolute")
        if mp in mounts:
            errs.append(f"{where}: two mounts at {mp}")
        mounts.add(mp)
        prop = m.get("mountPropagation")
        if prop is not None and prop not in PROPAGATION:
            errs.append(f"{where}: mountPropagation {prop!r}")
        if prop == "Bidirectional" and not \
                (c.get("securityContext") or {}).get("privileged"):
            errs.append(f"{where}: Bidirectional propagation is allowed to "
                        "privileged containers only")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        v_probe(c.get(probe), f"{where}.{probe}", c, errs)
    if c.get("lifecycle") is not None and "preStop" in c["lifecycle"] and \
            where.startswith("initContainers"):
        errs.append(f"{where}: init containers take no lifecycle hooks")


def v_daemonset(obj, errs):
    spec = obj.doc.get("spec") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    tmpl = spec.get("template") or {}
    tlabels = (tmpl.get("metadata") or {}).get("labels") or {}
    if not sel:
        errs.append("spec.selector.matchLabels is empty")
    for k, v in sel.items():
        if tlabels.get(k) != v:
            errs.append(f"selector {k}={v} is not a label of the template "
                        f"(template has {tlabels.get(k)!r})")
    v_labels(tlabels, "template labels", errs)
    us = spec.get("updateStrategy")
    if us is not None and us.get("type") not in ("RollingUpdate", "OnDelete"):
        errs.append(f"updateStrategy.type {us.get('type')!r}")
    ps = tmpl.get("spec") or {}
    if not ps.get("containers"):
        errs.append("no containers")
    volumes = {}
    for v in ps.get("volumes") or []:
        n = v.get("name")
        if not is_dns_label(n):
            errs.append(f"volume name {n!r}")
        if n in volumes:
            errs.append(f"volume {n} declared twice")
        volumes[n] = v
        sources = [k for k in v if k != "name"]
        if len(sources) != 1:
            errs.append(f"volume {n}: exactly one source needed, got "
                        f"{sources}")
        if "hostPath" in v:
            hp = v["hostPath"] or {}
            if not isinstance(hp.get("path"), str) or \
                    not hp["path"].startswith("/"):
                errs.append(f"volume {n}: hostPath without an absolute path")
            if hp.get("type", "") not in HOSTPATH_TYPES:
                errs.append(f"volume {n}: hostPath type {hp.get('type')!r}")
        if "configMap" in v:
            cm = v["configMap"] or {}
            if not cm.get("name"):
                errs.append(f"volume {n}: configMap without a name")
    names = set()
    for field, c in containers_of(ps):
        where = f"{field}[{c.get('name')}]"
        if c.get("name") in names:
            errs.append(f"{where}: container name used twice")
        names.add(c.get("name"))
        v_container(c, where, volumes, errs)
        if ps.get("hostNetwork"):
            for pt in c.get("ports") or []:
                if "hostPort" in pt and pt["hostPort"] != pt.get("containerPort"):
                    errs.append(f"{where}: with hostNetwork, hostPort must "
                                "equal containerPort")
    for i, t in enumerate(ps.get("tolerations") or []):
        if t.get("operator", "Equal") not in ("Exists", "Equal"):
            errs.append(f"tolerations[{i}].operator {t.get('operator')!r}")
        if t.get("operator") == "Exists" and t.get("value"):
            errs.append(f"tolerations[{i}]: Exists takes no value")
        if not t.get("key") and t.get("operator") != "Exists":
            errs.append(f"tolerations[{i}]: no key needs operator Exists")


# (apiVersion, kind) -> (namespaced, validator, name rule). A kind not here
# fails: add its rules before using it.
KINDS = {
    ("v1", "Namespace"): (False, v_nothing_more, is_dns_label),
    ("v1", "ServiceAccount"): (True, v_nothing_more, is_dns_subdomain),
    ("v1", "ConfigMap"): (True, v_configmap, is_dns_subdomain),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"):
        (False, v_clusterrole, lambda s: isinstance(s, str) and bool(s)),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"):
        (False, v_clusterrolebinding, lambda s: isinstance(s, str) and bool(s)),
    ("apps/v1", "DaemonSet"): (True, v_daemonset, is_dns_subdomain),
}


def find(objs, kind, name=None):
    return [o for o in objs if o.kind == kind and (name is None or o.name == name)]


def the_daemonset(objs, script):
    """The DaemonSet whose containers run script (agent or uninstall)."""
    for o in find(objs, "DaemonSet"):
        ps = o.doc["spec"]["template"]["spec"]
        for _, c in containers_of(ps):
            if any(os.path.basename(x) == script for x in c.get("command") or []):
                return o
    return None


def container(ds, command_base):
    ps = ds.doc["spec"]["template"]["spec"]
    for _, c in containers_of(ps):
        if c.get("command") and os.path.basename(c["command"][0]) == command_base:
            return c
    return None


def env_map(c):
    return {e["name"]: e for e in c.get("env") or [] if "name" in e}


def mount_for(ds, c, path):
    """(volume, mount) of c whose mountPath is path or contains it."""
    vols = {v["name"]: v for v in ds.doc["spec"]["template"]["spec"].get("volumes") or []}
    best = None
    for m in c.get("volumeMounts") or []:
        mp = m["mountPath"].rstrip("/") or "/"
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best[1]["mountPath"]):
                best = (vols.get(m["name"]), m)
    return best


def host_path_of(ds, c, path):
    """The host path a container path lands on, or None (not a hostPath)."""
    found = mount_for(ds, c, path)
    if not found or not found[0] or "hostPath" not in found[0]:
        return None
    vol, m = found
    rest = path[len(m["mountPath"].rstrip("/")):]
    return vol["hostPath"]["path"].rstrip("/") + rest


def arg_flags(args):
    """[(flag, value or None)] from --flag=value and --flag value lists."""
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            if "=" in a:
                f, v = a.split("=", 1)
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                f, v = a, args[i + 1]
                i += 1
            else:
                f, v = a, None
            out.append((f, v))
        i += 1
    return out


def flag_value(c, flag):
    for f, v in arg_flags(c.get("args") or []):
        if f == flag:
            return v
    return None


# --- 1. schema -------------------------------------------------------------------


def section_schema(sets):
    for setname, objs in sets.items():
        namespaces = {}
        for o in objs:
            errs = []
            d = o.doc
            if not isinstance(d, dict):
                fail(f"{o.rel}#{o.index}", "not a map")
                continue
            for f in ("apiVersion", "kind"):
                if not isinstance(d.get(f), str) or not d.get(f):
                    errs.append(f"no {f}")
            if not (d.get("metadata") or {}).get("name"):
                errs.append("no metadata.name")
            rule = KINDS.get((d.get("apiVersion"), d.get("kind")))
            if rule is None:
                errs.append(f"{d.get('apiVersion')} {d.get('kind')} is not in "
                            "the test's schema table (KINDS): add its rules")
            else:
                namespaced, validator, name_rule = rule
                v_metadata(o, errs, name_rule)
                if namespaced and not o.namespace:
                    errs.append("namespaced kind without metadata.namespace")
                if not namespaced and o.namespace:
                    errs.append("cluster-scoped kind with metadata.namespace")
                if namespaced and o.namespace and o.namespace not in namespaces:
                    errs.append(f"namespace {o.namespace} is not created "
                                f"before it in {setname}/ (apply order)")
                validator(o, errs)
            if o.kind == "Namespace":
                namespaces[o.name] = o
            if errs:
                fail(f"schema {o.where()}", "; ".join(errs))
            else:
                ok(f"schema {o.where()}")
        # Two objects with one identity: the second silently replaces the first.
        seen = {}
        for o in objs:
            key = (o.doc.get("apiVersion"), o.kind, o.namespace, o.name)
            if key in seen:
                fail(f"unique {o.where()}", f"also in {seen[key].where()}")
            seen[key] = o

        for b in find(objs, "ClusterRoleBinding"):
            rr = b.doc.get("roleRef") or {}
            check(find(objs, rr.get("kind"), rr.get("name")),
                  f"{b.where()} roleRef exists in {setname}/",
                  f"no {rr.get('kind')}/{rr.get('name')} in the set")
            for s in b.doc.get("subjects") or []:
                if s.get("kind") == "ServiceAccount":
                    check([o for o in find(objs, "ServiceAccount", s.get("name"))
                           if o.namespace == s.get("namespace")],
                          f"{b.where()} subject {s.get('namespace')}/"
                          f"{s.get('name')} exists",
                          "no such ServiceAccount in the set")

        for ds in find(objs, "DaemonSet"):
            ps = ds.doc["spec"]["template"]["spec"]
            sa = ps.get("serviceAccountName") or ps.get("serviceAccount")
            if sa and sa != "default":
                check(find(objs, "ServiceAccount", sa) and
                      any(o.namespace == ds.namespace
                          for o in find(objs, "ServiceAccount", sa)),
                      f"{ds.where()} serviceAccountName {sa} exists",
                      f"no ServiceAccount {ds.namespace}/{sa} in the set")
            for v in ps.get("volumes") or []:
                if "configMap" in v:
                    cmname = v["configMap"].get("name")
                    cms = [o for o in find(objs, "ConfigMap", cmname)
                           if o.namespace == ds.namespace]
                    if not check(cms, f"{ds.where()} volume {v['name']}: "
                                 f"ConfigMap {cmname} exists",
                                 "not in the set"):
                        continue
                    data = cms[0].doc.get("data") or {}
                    for it in v["configMap"].get("items") or []:
                        check(it.get("key") in data,
                              f"{ds.where()} volume {v['name']}: key "
                              f"{it.get('key')} exists",
                              f"ConfigMap {cmname} has {sorted(data)}")

    install = sets.get("manifests") or []
    check(the_daemonset(install, "uninstall.sh") is None,
          "manifests/ runs no uninstall (kubectl apply -f manifests/ "
          "must not uninstall)", "a DaemonSet there runs uninstall.sh")
    un = sets.get(os.path.join("manifests", "uninstall")) or []
    check(the_daemonset(un, "uninstall.sh") is not None,
          "manifests/uninstall/ has the uninstall DaemonSet",
          "no DaemonSet there runs uninstall.sh")
    section_install_daemonset(install)


def section_install_daemonset(objs):
    """What the issue asks of the agent's DaemonSet."""
    ds = the_daemonset(objs, "sluiced")
    if not check(ds is not None, "an agent DaemonSet runs sluiced",
                 "no DaemonSet container has sluiced as its command"):
        return
    ps = ds.doc["spec"]["template"]["spec"]
    agent = container(ds, "sluiced")
    w = ds.where()

    # The binding's subject is the account the agent runs as.
    sa = ps.get("serviceAccountName")
    subjects = [(s.get("namespace"), s.get("name"))
                for b in find(objs, "ClusterRoleBinding")
                for s in b.doc.get("subjects") or []
                if s.get("kind") == "ServiceAccount"]
    check(sa and (ds.namespace, sa) in subjects,
          f"{w}: its ServiceAccount {ds.namespace}/{sa} is the binding's subject",
          f"bindings name {subjects}")
    check(ps.get("automountServiceAccountToken", True) is not False,
          f"{w}: the token is mounted (the agent runs in-cluster)",
          "automountServiceAccountToken is false")

    check(ps.get("hostNetwork") is True, f"{w}: hostNetwork", "not true")
    check(ps.get("priorityClassName") == "system-node-critical",
          f"{w}: priorityClassName system-node-critical",
          f"got {ps.get('priorityClassName')!r}")
    check(any(t.get("operator") == "Exists" and not t.get("key") and
              not t.get("effect") for t in ps.get("tolerations") or []),
          f"{w}: tolerates every taint (operator: Exists, no key, no effect)",
          f"tolerations {ps.get('tolerations')}")
    us = ds.doc["spec"].get("updateStrategy") or {}
    check(us.get("type") == "RollingUpdate" and
          (us.get("rollingUpdate") or {}).get("maxUnavailable") == 1,
          f"{w}: RollingUpdate with maxUnavailable 1", f"got {us}")
    for field, c in containers_of(ps):
        lc = c.get("lifecycle") or {}
        check("preStop" not in lc,
              f"{w}: {c['name']} has no preStop (pinned state survives a "
              "pod stop)", "a preStop hook could remove pinned state")
        check((c.get("securityContext") or {}).get("privileged") is True or
              set(((c.get("securityContext") or {}).get("capabilities") or {})
                  .get("add") or []) >=
              {"BPF", "SYS_ADMIN", "NET_ADMIN", "SYS_RESOURCE", "PERFMON"},
              f"{w}: {c['name']} is privileged or has the BPF capabilities",
              "neither")

    env = env_map(agent)
    node = env.get("NODE_NAME", {})
    check(((node.get("valueFrom") or {}).get("fieldRef") or {})
          .get("fieldPath") == "spec.nodeName",
          f"{w}: NODE_NAME from spec.nodeName", f"got {node}")
    check(flag_value(agent, "--node-name") == "$(NODE_NAME)",
          f"{w}: --node-name=$(NODE_NAME)",
          f"got {flag_value(agent, '--node-name')!r}")

    # Mounts: host path -> (container, mount), with propagation.
    def mounted(c, host, container_path=None, propagation=None):
        for m in c.get("volumeMounts") or []:
            vol = next((v for v in ps.get("volumes") or []
                        if v["name"] == m["name"]), None)
            if not vol or "hostPath" not in vol:
                continue
            if vol["hostPath"]["path"].rstrip("/") != host:
                continue
            if container_path and m["mountPath"].rstrip("/") != container_path:
                continue
            if propagation and m.get("mountPropagation") != propagation:
                continue
            return True
        return False

    check(mounted(agent, "/sys/fs/bpf", "/sys/fs/bpf", "Bidirectional"),
          f"{w}: agent mounts the host's /sys/fs/bpf there, Bidirectional",
          "missing")
    check(mounted(agent, "/sys/fs/cgroup"),
          f"{w}: agent mounts the host's /sys/fs/cgroup", "missing")
    init = [c for c in ps.get("initContainers") or []]
    check(any(mounted(c, "/opt/cni/bin") and mounted(c, "/etc/cni/net.d")
              for c in init),
          f"{w}: an init container mounts /opt/cni/bin and /etc/cni/net.d",
          "missing")
    check(any(any(os.path.basename(x) == "install.sh"
                  for x in c.get("command") or []) for c in init),
          f"{w}: the init container runs install.sh", "missing")

    # Probes on the port --metrics-listen serves, /healthz.
    listen = flag_value(agent, "--metrics-listen")
    port = None
    if listen and ":" in listen:
        try:
            port = int(listen.rsplit(":", 1)[1])
        except ValueError:
            port = None
    check(port == 9962, f"{w}: --metrics-listen on port 9962",
          f"--metrics-listen={listen!r}")
    named = {p.get("name"): p.get("containerPort") for p in agent.get("ports") or []}
    for probe in ("readinessProbe", "livenessProbe"):
        hg = (agent.get(probe) or {}).get("httpGet") or {}
        pport = hg.get("port")
        pport = named.get(pport, pport) if isinstance(pport, str) else pport
        check(hg.get("path") == "/healthz" and pport == port and port,
              f"{w}: {probe} is GET /healthz on the --metrics-listen port",
              f"probe {hg}, listen {listen!r}")
        check(not hg.get("host") or hg["host"] in ("127.0.0.1", "localhost") and
              listen.rsplit(":", 1)[0] in ("", "0.0.0.0", "[::]", "127.0.0.1",
                                           "localhost"),
              f"{w}: {probe} host reaches the listen address",
              f"probe host {hg.get('host')!r}, listen {listen!r}")
    # The kubelet probes a hostNetwork pod at the node's address: the agent
    # must listen there, not on loopback only (unless the probe says host).
    host = listen.rsplit(":", 1)[0] if listen else None
    check(host in ("", "0.0.0.0", "[::]") or any(
        ((agent.get(p) or {}).get("httpGet") or {}).get("host")
        for p in ("readinessProbe",)),
          f"{w}: --metrics-listen is reachable at the node's address",
          f"listens on {host!r} only")
    ann = (ds.doc["spec"]["template"].get("metadata") or {}).get("annotations") or {}
    if "prometheus.io/port" in ann:
        check(ann["prometheus.io/port"] == str(port),
              f"{w}: prometheus.io/port is the metrics port",
              f"{ann['prometheus.io/port']} vs {port}")
    for p in agent.get("ports") or []:
        if p.get("name") == "metrics":
            check(p.get("containerPort") == port,
                  f"{w}: port 'metrics' is the metrics port",
                  f"{p.get('containerPort')} vs {port}")


# --- 2. rbac ---------------------------------------------------------------------


def c_string_literals(path):
    """The string literals of a C file, comments and char literals removed."""
    with open(path, errors="replace") as f:
        src = f.read()
    out = []
    i, n = 0, len(src)
    while i < n:
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i < 0 else i
        elif src.startswith("/*", i):
            i = src.find("*/", i + 2)
            i = n if i < 0 else i + 2
        elif src[i] == "'":
            j = i + 1
            while j < n and src[j] != "'":
                j += 2 if src[j] == "\\" else 1
            i = j + 1
        elif src[i] == '"':
            j = i + 1
            buf = []
            while j < n and src[j] != '"':
                if src[j] == "\\":
                    buf.append(src[j:j + 2])
                    j += 2
                else:
                    buf.append(src[j])
                    j += 1
            out.append("".join(buf))
            i = j + 1
        else:
            i += 1
    return out


def api_path_resource(p):
    """(group, resource) a request path names, or None when it cannot be
    told (a format string in the wrong place, a bare prefix)."""
    p = p.split("?", 1)[0]
    seg = [s for s in p.split("/") if s]
    if seg[:2] == ["api", "v1"]:
        group, rest = "", seg[2:]
    elif seg and seg[0] == "apis" and len(seg) >= 3:
        group, rest = seg[1], seg[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]  # namespaces/NS/RESOURCE...
    if not rest or "%" in rest[0]:
        return None
    res = rest[0]
    if len(rest) >= 3:
        res += "/" + rest[2]  # RESOURCE/NAME/SUBRESOURCE
    return group, res


def section_rbac(root, sets):
    objs = sets.get("manifests") or []
    # What the agent asks for: every API path literal in the sources
    # sluiced is built from (agent/, common/, cni/: see the Makefile).
    needed = {}
    for d in ("agent", "common", "cni"):
        for path in sorted(glob.glob(os.path.join(root, d, "*.[ch]"))):
            for lit in c_string_literals(path):
                if "/api/" not in lit and "/apis/" not in lit and \
                        lit not in ("/api", "/apis"):
                    continue
                rel = os.path.relpath(path, root)
                pair = api_path_resource(lit)
                if not check(pair is not None,
                             f"rbac: API path {lit!r} in {rel} names a resource",
                             "cannot tell which resource it requests; teach "
                             "api_path_resource() or use a plain path"):
                    continue
                needed.setdefault(pair, set()).add(rel)
    # The watch table must be found, or the scan above proves nothing.
    table = []
    kw = os.path.join(root, "agent", "k8s_watch.c")
    if os.path.exists(kw):
        with open(kw) as f:
            table = re.findall(r'\{\s*"([a-z]+)",\s*"(/apis?/[^"]+)"', f.read())
    check(len(table) >= 1, "rbac: agent/k8s_watch.c's resource table found",
          "no { \"name\", \"/api...\" } entries: the test must follow the code")
    for name, path in table:
        pair = api_path_resource(path)
        check(pair is not None and pair[1] == name,
              f"rbac: table entry {name} is the resource of {path}",
              f"path names {pair}")
        check(pair in needed, f"rbac: table entry {name} seen by the scan",
              "the literal scan missed it")

    # What is granted to the agent's account.
    ds = the_daemonset(objs, "sluiced")
    sa = ds and ds.doc["spec"]["template"]["spec"].get("serviceAccountName")
    granted = {}
    bound = False
    for b in find(objs, "ClusterRoleBinding"):
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa and
                   s.get("namespace") == ds.namespace
                   for s in b.doc.get("subjects") or []):
            continue
        for role in find(objs, "ClusterRole", (b.doc.get("roleRef") or {}).get("name")):
            bound = True
            for i, r in enumerate(role.doc.get("rules") or []):
                verbs = set(r.get("verbs") or [])
                extra = verbs - RBAC_VERBS_READ
                check(not extra, f"rbac: {role.where()} rules[{i}] verbs are "
                      "get/list/watch only", f"also {sorted(extra)}")
                check(not r.get("resourceNames") and not r.get("nonResourceURLs"),
                      f"rbac: {role.where()} rules[{i}] has no resourceNames "
                      "or nonResourceURLs", "list/watch of a whole collection "
                      "cannot be limited to names; the agent asks for no URL")
                for g in r.get("apiGroups") or []:
                    for res in r.get("resources") or []:
                        granted.setdefault((g, res), set()).update(verbs)
    check(bound, f"rbac: a ClusterRole is bound to {sa}", "none")
    for (g, res), files in sorted(needed.items()):
        verbs = granted.get((g, res), set())
        for gg, rr in ((g, "*"), ("*", res), ("*", "*")):
            verbs |= granted.get((gg, rr), set())
        check({"list", "watch"} <= verbs,
              f"rbac: grant for {g or 'core'}/{res} (requested in "
              f"{', '.join(sorted(files))}) has list and watch",
              f"granted {sorted(verbs) or 'nothing'}")
    for (g, res), verbs in sorted(granted.items()):
        check((g, res) in needed,
              f"rbac: grant {g or 'core'}/{res} is requested by the agent",
              "an extra grant: nothing in the agent's code asks for it")


# --- 3. cni ----------------------------------------------------------------------

CNI_STANDARD_KEYS = {"type", "name", "cniVersion", "capabilities",
                     "runtimeConfig", "args", "prevResult"}


def conf_keys(root):
    """The keys cni/conf.c reads from the plugin's configuration."""
    path = os.path.join(root, "cni", "conf.c")
    with open(path) as f:
        src = f.read()
    keys = set(re.findall(
        r'get_(?:string|int_in|path)\(\s*root,\s*"([^"]+)"', src))
    keys |= set(re.findall(
        r'json_object_object_get_ex\(\s*root,\s*"([^"]+)"', src))
    return keys


def plugin_run(sluice, conf, command, extra_env=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "CNI_COMMAND": command, "CNI_PATH": os.path.dirname(sluice)}
    env.update(extra_env or {})
    p = subprocess.run([sluice], input=json.dumps(conf), env=env,
                       capture_output=True, text=True, timeout=30)
    try:
        out = json.loads(p.stdout) if p.stdout.strip() else {}
    except json.JSONDecodeError:
        out = {"raw": p.stdout}
    return p.returncode, out, p.stderr


def agent_and_conflist(sets):
    objs = sets.get("manifests") or []
    ds = the_daemonset(objs, "sluiced")
    if not ds:
        return None, None, None, None
    ps = ds.doc["spec"]["template"]["spec"]
    init = next((c for c in ps.get("initContainers") or []
                 if any(os.path.basename(x) == "install.sh"
                        for x in c.get("command") or [])), None)
    if not init:
        return ds, None, None, None
    env = env_map(init)
    conflist_path = (env.get("CONFLIST") or {}).get("value",
                                                    "/etc/sluice/cni-conflist")
    # Which ConfigMap key lands at that path.
    found = mount_for(ds, init, conflist_path)
    key = None
    cm = None
    if found and found[0] and "configMap" in found[0]:
        vol, m = found
        rel = conflist_path[len(m["mountPath"].rstrip("/")) + 1:]
        items = vol["configMap"].get("items")
        key = next((it["key"] for it in items if it.get("path") == rel),
                   None) if items else rel
        cm = next((o for o in find(objs, "ConfigMap", vol["configMap"]["name"])
                   if o.namespace == ds.namespace), None)
    return ds, init, cm, key


def section_cni(root, build, sets):
    ds, init, cm, key = agent_and_conflist(sets)
    if not check(cm is not None and key in (cm.doc.get("data") or {}),
                 "cni: the install step's CONFLIST is a key of the ConfigMap",
                 f"ConfigMap {cm and cm.name}, key {key!r}"):
        return
    text = cm.doc["data"][key]
    try:
        cl = json.loads(text)
    except (json.JSONDecodeError, TypeError) as e:
        fail(f"cni: {cm.name}[{key}] is JSON", str(e))
        return
    ok(f"cni: {cm.name}[{key}] is JSON")
    name = (env_map(init).get("CNI_CONF_NAME") or {}).get("value", "")
    check(name.endswith(".conflist"),
          f"cni: installed as {name}, a .conflist",
          "libcni reads a .conf file as a single plugin, not a list")
    check(isinstance(cl.get("name"), str) and
          re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$", cl.get("name") or ""),
          "cni: the network has a valid name", f"name {cl.get('name')!r}")
    versions = [cl.get("cniVersion")] + list(cl.get("cniVersions") or [])
    check("1.1.0" in versions, "cni: the conflist offers cniVersion 1.1.0",
          f"versions {versions}")
    plugins = cl.get("plugins") or []
    check(isinstance(plugins, list) and plugins and
          plugins[0].get("type") == "sluice" and
          sum(p.get("type") == "sluice" for p in plugins) == 1,
          "cni: sluice is the first plugin of the list, once",
          f"plugins {[p.get('type') for p in plugins]}")
    entry = next((p for p in plugins if p.get("type") == "sluice"), None)
    if entry is None:
        return
    known = conf_keys(root) | CNI_STANDARD_KEYS
    check(len(conf_keys(root)) >= 4, "cni: cni/conf.c's keys found",
          f"only {sorted(conf_keys(root))}: the test must follow the code")
    unknown = set(entry) - known
    check(not unknown, "cni: every key of the plugin entry is one cni/conf.c "
          "reads", f"unknown {sorted(unknown)} (the plugin ignores them)")
    check("podCIDR" not in entry, "cni: no podCIDR (the agent's node record "
          "gives each node its own)", f"podCIDR {entry.get('podCIDR')!r}")

    # The paths the plugin uses on the host are the agent's.
    agent = container(ds, "sluiced")
    for k, flag, default in (("bpfRoot", "--bpf-root", "/sys/fs/bpf/sluice"),
                             ("runDir", "--run-dir", "/var/run/sluice")):
        v = entry.get(k, default)
        check(flag_value(agent, flag) == v,
              f"cni: {k} {v} is the agent's {flag}",
              f"agent has {flag_value(agent, flag)!r}")
        check(host_path_of(ds, agent, v) == v,
              f"cni: {k} {v} is the same path on the host and in the agent",
              f"the agent's {v} is host {host_path_of(ds, agent, v)!r}")

    # The real plugin, as a runtime calls it: libcni copies the list's name
    # and chosen cniVersion into the entry. bpfRoot and runDir go to a
    # scratch directory (checked above), so nothing on this machine is read
    # or written.
    sluice = os.path.join(build, "bin", "sluice")
    with tempfile.TemporaryDirectory(prefix="sluice-manifests.") as tmp:
        def conf_for(ver):
            c = dict(entry, name=cl.get("name"), cniVersion=ver)
            c["bpfRoot"] = os.path.join(tmp, "bpf")
            c["runDir"] = os.path.join(tmp, "run")
            return c

        # The harness can see a refusal: a broken copy must be refused.
        bad = dict(conf_for("1.1.0"), bpfRoot="relative/path")
        rc, out, _ = plugin_run(sluice, bad, "STATUS")
        check(rc != 0 and out.get("code") == 7,
              "cni: the plugin refuses a broken entry (harness self-check)",
              f"rc {rc}, {out}")
        for ver in dict.fromkeys(v for v in versions if v):
            c = conf_for(ver)
            if ver == "1.1.0":
                # STATUS parses the whole configuration, then finds no pod
                # CIDR: no podCIDR key and no node record yet.
                rc, out, err = plugin_run(sluice, c, "STATUS")
                check(rc != 0 and out.get("code") == 50 and
                      out.get("msg") == "no pod CIDR",
                      f"cni: plugin STATUS accepts the entry at {ver} and "
                      "wants the agent's node record",
                      f"rc {rc}, {out}, {err.strip()}")
                os.makedirs(c["runDir"], exist_ok=True)
                with open(os.path.join(c["runDir"], "node.json"), "w") as f:
                    json.dump({"podCIDR": "10.244.1.0/24"}, f)
                rc, out, err = plugin_run(sluice, c, "STATUS")
                check(rc != 0 and out.get("code") == 50 and
                      out.get("msg") == "bpffs missing",
                      f"cni: with the agent's node.json in runDir, STATUS "
                      "gets past the pod CIDR (to the missing bpffs here)",
                      f"rc {rc}, {out}, {err.strip()}")
            # DEL, at every version: it parses the configuration, then finds
            # nothing recorded for this container and answers 0 (DEL is
            # idempotent), creating nothing. Without root its netlink
            # cleanup is refused (102): past the configuration all the same.
            d = dict(c, runDir=os.path.join(tmp, "run-del"))
            rc, out, err = plugin_run(sluice, d, "DEL", {
                "CNI_CONTAINERID": "manifests-test", "CNI_IFNAME": "eth0"})
            past = rc == 0 or (os.geteuid() != 0 and out.get("code") == 102)
            check(past and not os.path.exists(d["runDir"]),
                  f"cni: plugin DEL accepts the entry at {ver}",
                  f"rc {rc}, {out}, {err.strip()}")
            rc, out, _ = plugin_run(sluice, c, "VERSION")
            check(rc == 0 and ver in (out.get("supportedVersions") or []),
                  f"cni: VERSION lists {ver}", f"rc {rc}, {out}")


# --- 4. agent --------------------------------------------------------------------

VAR_REF = re.compile(r"\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def expand(s, values):
    """Kubernetes' $(VAR) expansion: defined names only, $$ escapes."""
    out = []
    i = 0
    while i < len(s):
        if s.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        m = VAR_REF.match(s, i)
        if m and m.group(1) in values:
            out.append(values[m.group(1)])
            i = m.end()
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


def section_agent(build, sets):
    objs = sets.get("manifests") or []
    ds = the_daemonset(objs, "sluiced")
    if not check(ds is not None, "agent: a DaemonSet runs sluiced", "none"):
        return
    sluiced = os.path.join(build, "bin", "sluiced")
    p = run([sluiced, "--help"])
    helpflags = set(re.findall(r"--[a-z][a-z0-9-]*", p.stdout))
    check(p.returncode == 0 and "--node-name" in helpflags,
          "agent: sluiced --help lists its flags", f"rc {p.returncode}")
    ps = ds.doc["spec"]["template"]["spec"]
    for field, c in containers_of(ps):
        w = f"{ds.where()} {c['name']}"
        env = env_map(c)
        # Every $(VAR) must be defined, or Kubernetes passes it literally.
        for s in (c.get("command") or []) + (c.get("args") or []):
            for var in VAR_REF.findall(s):
                check(var in env, f"agent: {w}: $({var}) is defined in env",
                      "undefined: Kubernetes would pass it verbatim")
        for e in env.values():
            ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
            if not ref:
                continue
            cms = [o for o in find(objs, "ConfigMap", ref.get("name"))
                   if o.namespace == ds.namespace]
            data = cms[0].doc.get("data") or {} if cms else {}
            check(ref.get("key") in data or ref.get("optional"),
                  f"agent: {w}: env {e['name']} from ConfigMap "
                  f"{ref.get('name')} key {ref.get('key')} exists",
                  f"ConfigMap keys {sorted(data)}")
    agent = container(ds, "sluiced")
    w = f"{ds.where()} agent"
    flags = arg_flags(agent.get("args") or [])
    for f, v in flags:
        check(f in helpflags, f"agent: {f} is a flag sluiced --help lists",
              f"not in {sorted(helpflags)}")
    for f in ("--node-name", "--bpf-root", "--run-dir", "--metrics-listen",
              "--cgroup-root"):
        check(any(x == f for x, _ in flags), f"agent: {w} sets {f}", "missing")
    check(not any(f in ("--source", "--kubeconfig") for f, _ in flags),
          f"agent: {w} runs in-cluster (no --source/--kubeconfig)",
          "a cluster install reads the API server with its ServiceAccount")

    # Values as Kubernetes would pass them, to the real parser: options are
    # parsed in order and --help last answers 0 only if all were accepted.
    values = {"NODE_NAME": "node-1"}
    cm_data = {}
    for e in env_map(agent).values():
        if "value" in e:
            values[e["name"]] = e["value"]
        ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
        if ref:
            cms = [o for o in find(objs, "ConfigMap", ref.get("name"))
                   if o.namespace == ds.namespace]
            cm_data = cms[0].doc.get("data") or {} if cms else {}
            if ref.get("key") in cm_data:
                values[e["name"]] = str(cm_data[ref["key"]])
    args = [expand(a, values) for a in agent.get("args") or []]
    p = run([sluiced] + args + ["--help"])
    check(p.returncode == 0, "agent: sluiced accepts the DaemonSet's args "
          f"with the ConfigMap's values ({' '.join(args)})",
          f"rc {p.returncode}: {p.stderr.strip()}")
    cg = dict(arg_flags(args)).get("--cgroup-root")
    check(cg == "none" or (host_path_of(ds, agent, cg) or "").startswith(
        "/sys/fs/cgroup"),
          f"agent: --cgroup-root {cg} is the host's cgroup tree, mounted",
          f"host path {host_path_of(ds, agent, cg)!r}")


# --- 5. docker -------------------------------------------------------------------


def dockerfile_instructions(path):
    """[(INSTRUCTION, text)] with continuations joined, comments dropped."""
    out = []
    cur = ""
    with open(path) as f:
        for line in f:
            s = line.rstrip("\n")
            if not cur and (not s.strip() or s.lstrip().startswith("#")):
                continue
            if cur and s.lstrip().startswith("#"):
                continue  # comment lines inside a continuation
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            cur += s
            parts = cur.strip().split(None, 1)
            out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
            cur = ""
    return out


def apt_installs(cmd):
    """Packages of every `apt-get install` in a shell command line."""
    pkgs = []
    for part in re.split(r"&&|;|\|\|", cmd):
        toks = shlex.split(part)
        if len(toks) >= 2 and os.path.basename(toks[0]) in ("apt-get", "apt") \
                and "install" in toks:
            rest = toks[toks.index("install") + 1:]
            pkgs += [t for t in rest if not t.startswith("-")]
    return pkgs


def dockerignore(root):
    pats = []
    p = os.path.join(root, ".dockerignore")
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                s = line.strip()
                if s and not s.startswith("#"):
                    pats.append(s)
    return pats


def ignored(rel, pats):
    """Docker's rule: the last matching pattern wins; a pattern also
    excludes everything under a directory it matches."""
    res = False
    parts = rel.split("/")
    for pat in pats:
        neg = pat.startswith("!")
        pat = pat.lstrip("!").strip("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if fnmatch.fnmatchcase(prefix, pat) or (
                    pat.startswith("**/") and
                    fnmatch.fnmatchcase(parts[i - 1], pat[3:])):
                res = not neg
                break
    return res


def pkg_of_libs(paths):
    """{library path: Debian package} through dpkg -S, trying the path as
    ldd printed it, its target, and both sides of the /usr merge."""
    cands = {}
    for p in paths:
        c = [p, os.path.realpath(p)]
        for x in list(c):
            if x.startswith("/usr/lib/"):
                c.append(x[4:])
            elif x.startswith("/lib/"):
                c.append("/usr" + x)
        cands[p] = list(dict.fromkeys(c))
    allc = sorted({x for c in cands.values() for x in c})
    owner = {}
    r = run(["dpkg", "-S"] + allc)
    for line in r.stdout.splitlines():
        if ": " in line:
            pk, path = line.split(": ", 1)
            for one in pk.split(", "):
                owner.setdefault(path.strip(), one.split(":")[0])
    return {p: next((owner[x] for x in c if x in owner), None)
            for p, c in cands.items()}


def section_docker(root, build, sets):
    df = os.path.join(root, "Dockerfile")
    if not check(os.path.exists(df), "docker: Dockerfile exists", "missing"):
        return
    ins = dockerfile_instructions(df)
    stages = []  # [{"name", "from", "workdir", "run": [...], "copy": [...]}]
    for kw, text in ins:
        if kw == "FROM":
            toks = text.split()
            toks = [t for t in toks if not t.startswith("--")]
            stages.append({"from": toks[0], "name": toks[2] if len(toks) > 2
                           and toks[1].upper() == "AS" else None,
                           "workdir": "/", "run": [], "copy": []})
        elif not stages:
            continue
        elif kw == "WORKDIR":
            stages[-1]["workdir"] = os.path.join(stages[-1]["workdir"], text.strip())
        elif kw == "RUN":
            stages[-1]["run"].append(text)
        elif kw in ("COPY", "ADD"):
            check(kw == "COPY", "docker: no ADD (it can download)", text)
            stages[-1]["copy"].append(text)
    if not check(len(stages) >= 2, "docker: multi-stage", f"{len(stages)} stage"):
        return
    names = {s["name"] for s in stages if s["name"]}
    for s in stages:
        check(s["from"] in ("debian:12", "debian:bookworm") or s["from"] in names,
              f"docker: FROM {s['from']} is Debian 12", "only debian:12")
    build_stage = next((s for s in stages[:-1]
                        if any(re.search(r"(^|\s|&&)make(\s|$)", r)
                               for r in s["run"])), None)
    check(build_stage is not None, "docker: a build stage runs make", "none")
    for s in stages:
        for r in s["run"]:
            check(not re.search(r"\b(curl|wget|git clone|pip install|go get)\b", r),
                  f"docker: RUN downloads only Debian packages ({r[:40]}...)",
                  "a download other than apt")

    # Packages: apt-get install lines, and hack/deps.sh's list when the
    # build calls it.
    def stage_pkgs(s):
        pk = []
        for r in s["run"]:
            pk += apt_installs(r)
            m = re.search(r"hack/deps\.sh\s+(\w+)", r)
            if m:
                p = run(["bash", os.path.join(root, "hack", "deps.sh"),
                         "--list", m.group(1)])
                check(p.returncode == 0, f"docker: hack/deps.sh --list "
                      f"{m.group(1)}", p.stderr.strip())
                pk += p.stdout.split()
        return pk

    osr = open("/etc/os-release").read() if os.path.exists("/etc/os-release") else ""
    if not check('VERSION_ID="12"' in osr and "debian" in osr.lower(),
                 "docker: this machine is Debian 12 (its apt lists decide)",
                 "package checks need Debian 12's apt-cache"):
        return
    allpk = sorted({p for s in stages for p in stage_pkgs(s)})
    r = run(["apt-cache", "show", "--no-all-versions"] + allpk)
    known = set(re.findall(r"^Package: (\S+)", r.stdout, re.M))
    for p in allpk:
        check(p in known, f"docker: package {p} exists in Debian 12",
              "apt-cache show finds no such package")

    runtime = stages[-1]
    rpk = stage_pkgs(runtime)
    r = run(["apt-cache", "depends", "--recurse", "--important"] + rpk)
    closure = {l.strip() for l in r.stdout.splitlines()
               if l and not l.startswith(" ") and not l.startswith("<")}
    closure |= set(rpk)
    bins = [os.path.join(build, "bin", b) for b in ("sluice", "sluiced", "sluicectl")]
    libs = {}
    needed = set()
    for b in bins:
        p = run(["ldd", b])
        if not check(p.returncode == 0, f"docker: ldd {os.path.basename(b)}",
                     p.stderr.strip()):
            continue
        for line in p.stdout.splitlines():
            m = re.match(r"\s*(\S+) => (/\S+)", line)
            if m:
                libs.setdefault(m.group(2), set()).add(os.path.basename(b))
        p = run(["readelf", "-d", b])
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                                 p.stdout))
    owners = pkg_of_libs(sorted(libs))
    for lib, users in sorted(libs.items()):
        pk = owners.get(lib)
        if pk == "libc6":
            continue  # in every Debian image, with ld-linux and the vdso
        if not check(pk is not None, f"docker: {lib} belongs to a package",
                     "dpkg -S knows no owner"):
            continue
        check(pk in closure, f"docker: runtime stage installs {pk} "
              f"({os.path.basename(lib)}, for {', '.join(sorted(users))})",
              "neither listed nor pulled in by a listed package")
        if os.path.basename(lib) in needed:
            check(pk in rpk, f"docker: {pk} is listed by name (linked "
                  f"directly: {os.path.basename(lib)})",
                  "a directly linked library must not rely on another "
                  "package's dependencies")

    # COPY sources.
    pats = dockerignore(root)
    dests = set()
    stage_by_name = {s["name"]: s for s in stages if s["name"]}
    for s in stages:
        for text in s["copy"]:
            toks = shlex.split(text)
            opts = [t for t in toks if t.startswith("--")]
            args = [t for t in toks if not t.startswith("--")]
            srcs, dest = args[:-1], args[-1]
            frm = next((o.split("=", 1)[1] for o in opts
                        if o.startswith("--from=")), None)
            for src in srcs:
                if frm:
                    st = stage_by_name.get(frm)
                    wd = st["workdir"] if st else "/"
                    rel = os.path.relpath(os.path.join(wd, src), wd)
                    # Built by make in that stage: the same file here.
                    path = os.path.join(build, os.path.relpath(rel, "build")) \
                        if rel.startswith("build/") else os.path.join(root, rel)
                    check(st is not None and os.path.exists(path),
                          f"docker: COPY --from={frm} {src} is built",
                          f"no {path} (run make)")
                else:
                    matches = glob.glob(os.path.join(root, src))
                    good = [m for m in matches if not ignored(
                        os.path.relpath(m, root), pats) or src == "."]
                    check(good, f"docker: COPY {src} exists in the context",
                          "missing" if not matches else "excluded by "
                          ".dockerignore")
                if s is stages[-1]:
                    dests.add(os.path.join(dest, os.path.basename(src))
                              if dest.endswith("/") else dest)
    # What the manifests run is in the image.
    for setname, objs in sets.items():
        for ds in find(objs, "DaemonSet"):
            for _, c in containers_of(ds.doc["spec"]["template"]["spec"]):
                cmd = (c.get("command") or [None])[0]
                if cmd and cmd.startswith("/"):
                    check(cmd in dests, f"docker: {ds.name}/{c['name']} runs "
                          f"{cmd}, which the image has", f"image has {sorted(dests)}")
                elif cmd:
                    p = run(["dpkg", "-S", f"bin/{cmd}"])
                    owner = p.stdout.split(":", 1)[0] if p.returncode == 0 else ""
                    r = run(["dpkg-query", "-W", "-f=${Essential}", owner]) \
                        if owner else None
                    check(r is not None and r.stdout.strip() == "yes",
                          f"docker: {ds.name}/{c['name']} runs {cmd}, from an "
                          "Essential package in every Debian image",
                          f"owner {owner or 'unknown'}")
    for src in glob.glob(os.path.join(root, "hack", "image", "*.sh")):
        rel = os.path.relpath(src, root)
        check(os.access(src, os.X_OK), f"docker: {rel} is executable",
              "the DaemonSet runs it directly")
        sh = "dash" if run(["sh", "-c", "command -v dash"]).returncode == 0 else "sh"
        p = run([sh, "-n", src])
        check(p.returncode == 0, f"docker: {rel} parses with {sh} (the "
              "image's /bin/sh)", p.stderr.strip())


# --- uninstall -------------------------------------------------------------------


def section_uninstall(sets):
    install = sets.get("manifests") or []
    un = sets.get(os.path.join("manifests", "uninstall")) or []
    ds = the_daemonset(install, "sluiced")
    uds = the_daemonset(un, "uninstall.sh")
    if not check(ds and uds, "uninstall: both DaemonSets found", "missing"):
        return
    _, init, cm, key = agent_and_conflist(sets)
    agent = container(ds, "sluiced")
    ucon = next(c for _, c in containers_of(uds.doc["spec"]["template"]["spec"])
                if any(os.path.basename(x) == "uninstall.sh"
                       for x in c.get("command") or []))
    ienv = env_map(init) if init else {}
    uenv = env_map(ucon)

    def host(d, c, env, var):
        v = (env.get(var) or {}).get("value")
        return v and host_path_of(d, c, v)

    check((uenv.get("CNI_CONF_NAME") or {}).get("value") ==
          (ienv.get("CNI_CONF_NAME") or {}).get("value"),
          "uninstall: removes the conflist name the install writes",
          f"{uenv.get('CNI_CONF_NAME')} vs {ienv.get('CNI_CONF_NAME')}")
    for var in ("CNI_BIN_DIR", "CNI_CONF_DIR"):
        check(host(uds, ucon, uenv, var) and
              host(uds, ucon, uenv, var) == host(ds, init, ienv, var),
              f"uninstall: {var} is the install's host directory",
              f"{host(uds, ucon, uenv, var)} vs {host(ds, init, ienv, var)}")
    for var, flag in (("BPF_ROOT", "--bpf-root"), ("RUN_DIR", "--run-dir")):
        want = host_path_of(ds, agent, flag_value(agent, flag) or "")
        check(want and host(uds, ucon, uenv, var) == want,
              f"uninstall: {var} is the agent's {flag} on the host ({want})",
              f"uninstall reaches {host(uds, ucon, uenv, var)}")
        # Removing it needs its parent mounted, not the directory itself.
        found = mount_for(uds, ucon, (uenv.get(var) or {}).get("value", ""))
        check(found and found[1]["mountPath"].rstrip("/") !=
              (uenv.get(var) or {}).get("value", "").rstrip("/"),
              f"uninstall: {var} is below its mount point (removable)",
              "a mount point cannot be removed")
    # Records name cgroups by the agent's path: the same mount here.
    amount = mount_for(ds, agent, "/sys/fs/cgroup")
    umount = mount_for(uds, ucon, "/sys/fs/cgroup")
    check(amount and umount and amount[1]["mountPath"] == umount[1]["mountPath"]
          and host_path_of(uds, ucon, "/sys/fs/cgroup") ==
          host_path_of(ds, agent, "/sys/fs/cgroup"),
          "uninstall: the host's cgroup tree at the agent's path",
          "the agent's cgroup records would not resolve")
    check(uds.doc["spec"]["template"]["spec"].get("hostNetwork") is True,
          "uninstall: hostNetwork (detaches from the node's interfaces)",
          "not true")
    images = {c.get("image") for o in find(install + un, "DaemonSet")
              for _, c in containers_of(o.doc["spec"]["template"]["spec"])}
    check(len(images) == 1, "uninstall: the same image as the install",
          f"images {sorted(images)}")


# --- main ------------------------------------------------------------------------

SECTIONS = ("schema", "rbac", "cni", "agent", "docker", "uninstall")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=REPO)
    ap.add_argument("--build")
    ap.add_argument("--only", default=",".join(SECTIONS))
    a = ap.parse_args()
    root = os.path.realpath(a.root)
    build = a.build or (os.path.join(root, "build")
                        if os.path.isdir(os.path.join(root, "build", "bin"))
                        else os.path.join(REPO, "build"))
    only = a.only.split(",")
    for s in only:
        if s not in SECTIONS:
            sys.exit(f"unknown section {s}; one of {', '.join(SECTIONS)}")
    for b in ("sluice", "sluiced", "sluicectl"):
        if not os.access(os.path.join(build, "bin", b), os.X_OK):
            sys.exit(f"no {build}/bin/{b}: run make first")

    sets = load_sets(root)
    if sets is None:
        print("manifests: a file does not parse")
        return 1
    try:
        if "schema" in only:
            section_schema(sets)
        if "rbac" in only:
            section_rbac(root, sets)
        if "cni" in only:
            section_cni(root, build, sets)
        if "agent" in only:
            section_agent(build, sets)
        if "docker" in only:
            section_docker(root, build, sets)
        if "uninstall" in only:
            section_uninstall(sets)
    except (KeyError, TypeError, AttributeError, IndexError) as e:
        # A shape the checks did not expect is a failure, not a crash that
        # could be mistaken for one.
        import traceback
        traceback.print_exc()
        fail("manifests have the expected shape", repr(e))
    print(f"{'FAILED' if failures else 'passed'}: {failures} failed check(s)"
          if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
