// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package conformance

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// The result versions libcni 1.1.2 can drive. 1.1.0, STATUS and GC need a
// newer libcni and are tested elsewhere.
var resultVersions = []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0"}

func atLeast(ver, min string) bool {
	ok, err := version.GreaterThanOrEqualTo(ver, min)
	return err == nil && ok
}

// TestLifecycle is ADD, CHECK and DEL for one pod in every result version
// (T10 partly, T13, T06 partly).
func TestLifecycle(t *testing.T) {
	for _, ver := range resultVersions {
		ver := ver
		t.Run(ver, func(t *testing.T) { testLifecycle(t, ver) })
	}
}

func testLifecycle(t *testing.T, ver string) {
	n := mainNode(t)
	r := n.runtime(t)
	list := n.confList(t, ver)
	p := newPod(t)

	res := r.mustAdd(t, list, p)
	a := checkResult(t, n, r, p, ver, res)
	checkKernel(t, n, p, a)

	if atLeast(ver, "0.4.0") {
		if err := r.check(list, p); err != nil {
			t.Errorf("CHECK right after ADD: %v%s", err, r.rec.stderrOf("CHECK"))
		}
		// A resource listed in prevResult goes missing: the spec
		// requires CHECK to notice (SPECS A.4 CHECK).
		mustRun(t, "ip", "-n", p.ns, "route", "del", "default")
		if err := r.check(list, p); err == nil {
			t.Errorf("CHECK succeeded although the pod's default route was removed")
		} else {
			t.Logf("CHECK without default route failed as expected: %v", err)
		}
	} else {
		// libcni refuses CHECK below 0.4.0 without running the
		// plugin; the plugin itself must refuse too, with code 1.
		if err := r.check(list, p); err == nil {
			t.Errorf("libcni CHECK at %s succeeded", ver)
		}
		if n := r.rec.count("CHECK"); n != 0 {
			t.Fatalf("libcni ran CHECK %d times at %s", n, ver)
		}
		err := directCheck(t, r, list, p)
		var e *types.Error
		if !errors.As(err, &e) || e.Code != types.ErrIncompatibleCNIVersion {
			t.Errorf("CHECK with cniVersion %s: %v (%#v), want error code %d%s", ver, err, err,
				types.ErrIncompatibleCNIVersion, r.rec.stderrOf("CHECK"))
		}
	}

	if err := r.del(list, p); err != nil {
		t.Fatalf("DEL: %v%s", err, r.rec.stderrOf("DEL"))
	}
	checkGone(t, n, p, a)
	// The runtime repeats DEL (stop, then remove sandbox); now without a
	// cached prevResult. It must succeed (SPECS A.4 DEL).
	if err := r.del(list, p); err != nil {
		t.Errorf("second DEL: %v%s", err, r.rec.stderrOf("DEL"))
	}
}

// directCheck runs CHECK on the plugin without libcni, which would refuse
// for versions below 0.4.0. The request is built as libcni builds it.
func directCheck(t *testing.T, r *runtime, list *libcni.NetworkConfigList, p *pod) error {
	t.Helper()
	var conf map[string]interface{}
	if err := json.Unmarshal(list.Plugins[0].Bytes, &conf); err != nil {
		t.Fatal(err)
	}
	conf["name"] = list.Name
	conf["cniVersion"] = list.CNIVersion
	if prev, err := r.cni.GetNetworkListCachedResult(list, p.rt); err == nil && prev != nil {
		conf["prevResult"] = prev
	}
	stdin, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	path, err := invoke.FindInPath(list.Plugins[0].Network.Type, env.cniPath)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := ctx()
	defer cancel()
	return invoke.ExecPluginWithoutResult(c, path, stdin, &invoke.Args{
		Command:     "CHECK",
		ContainerID: p.rt.ContainerID,
		NetNS:       p.rt.NetNS,
		IfName:      p.rt.IfName,
		Path:        strings.Join(env.cniPath, ":"),
	}, r.rec)
}

// TestAddressRelease proves DEL frees the address by exhausting a small
// pool: once full, only DEL can make room, and the next ADD must get the
// freed address. Each version gets a node of its own so the pool is known.
func TestAddressRelease(t *testing.T) {
	for i, ver := range resultVersions {
		i, ver := i, ver
		t.Run(ver, func(t *testing.T) {
			testAddressRelease(t, ver, fmt.Sprintf("10.244.%d.0/29", 240+i))
		})
	}
}

func testAddressRelease(t *testing.T, ver, cidr string) {
	n := newNode(t, cidr)
	r := n.runtime(t)
	list := n.confList(t, ver)

	type held struct {
		p  *pod
		ip net.IP
	}
	var pods []held
	seen := map[string]bool{}
	addOK := func(p *pod) net.IP {
		t.Helper()
		res := r.mustAdd(t, list, p)
		ip := podResult(t, res).IPs[0].Address.IP
		if !n.podCIDR.Contains(ip) {
			t.Fatalf("ADD gave %s outside %s", ip, n.podCIDR)
		}
		if seen[ip.String()] {
			t.Fatalf("ADD gave %s, which a live pod already holds", ip)
		}
		seen[ip.String()] = true
		return ip
	}

	// A /29 has 8 addresses, so the 9th ADD must fail at the latest.
	var full *pod
	for i := 0; i < 9; i++ {
		p := newPod(t)
		res, err := r.add(t, list, p)
		if err != nil {
			full = p
			t.Logf("ADD %d into %s failed as the pool is full: %v", i+1, cidr, err)
			break
		}
		ip := podResult(t, res).IPs[0].Address.IP
		if !n.podCIDR.Contains(ip) || seen[ip.String()] {
			t.Fatalf("ADD %d gave %s: outside %s or already held", i+1, ip, cidr)
		}
		seen[ip.String()] = true
		pods = append(pods, held{p, ip})
	}
	if full == nil {
		t.Fatalf("9 ADDs into %s all succeeded", cidr)
	}
	if len(pods) < 2 {
		t.Fatalf("only %d pods fit into %s", len(pods), cidr)
	}
	t.Logf("%d pods fit into %s", len(pods), cidr)
	// The runtime DELs a sandbox whose ADD failed (SPECS B.3); that
	// must succeed, and the failed ADD must have left nothing behind.
	if err := r.del(list, full); err != nil {
		t.Errorf("DEL after failed ADD: %v%s", err, r.rec.stderrOf("DEL"))
	}
	if linkExists(t, full.ns, full.rt.IfName) {
		t.Errorf("failed ADD left %s in the pod netns", full.rt.IfName)
	}

	// Free one address in the middle; a new pod must get exactly it.
	v := len(pods) / 2
	if err := r.del(list, pods[v].p); err != nil {
		t.Fatalf("DEL: %v%s", err, r.rec.stderrOf("DEL"))
	}
	delete(seen, pods[v].ip.String())
	p := newPod(t)
	if ip := addOK(p); !ip.Equal(pods[v].ip) {
		t.Errorf("after freeing %s the only free address, ADD gave %s", pods[v].ip, ip)
	}
	pods[v] = held{p, pods[v].ip}

	// Free everything: the whole pool must be usable again.
	for _, h := range pods {
		if err := r.del(list, h.p); err != nil {
			t.Fatalf("DEL: %v%s", err, r.rec.stderrOf("DEL"))
		}
		delete(seen, h.ip.String())
	}
	for range pods {
		addOK(newPod(t))
	}
}

// TestVersion: VERSION lists every version the project supports and echoes
// the input cniVersion (T03 partly, T14).
func TestVersion(t *testing.T) {
	n := mainNode(t)
	r := n.runtime(t)
	c, cancel := ctx()
	defer cancel()
	info, err := r.cni.GetVersionInfo(c, env.plugin)
	if err != nil {
		t.Fatalf("VERSION: %v%s", err, r.rec.stderrOf("VERSION"))
	}
	got := info.SupportedVersions()
	t.Logf("supportedVersions %v", got)
	for _, want := range prof().versions {
		if !contains(got, want) {
			t.Errorf("supportedVersions %v lacks %s", got, want)
		}
	}
	call, _ := r.rec.last(env.plugin, "VERSION")
	var raw struct {
		CNIVersion string `json:"cniVersion"`
	}
	if err := json.Unmarshal(call.stdout, &raw); err != nil || raw.CNIVersion != version.Current() {
		t.Errorf("VERSION output %q: cniVersion should echo the input %q", call.stdout, version.Current())
	}
}

// TestValidateNetworkList is CRI-O's load-time validation (T14): each
// plugin's VERSION must list the conflist's cniVersion.
func TestValidateNetworkList(t *testing.T) {
	n := mainNode(t)
	r := n.runtime(t)
	validate := func(list *libcni.NetworkConfigList) error {
		c, cancel := ctx()
		defer cancel()
		_, err := r.cni.ValidateNetworkList(c, list)
		return err
	}
	// The conflist the project ships: old runtimes use cniVersion,
	// libcni >= 1.2 picks the highest of cniVersions it implements.
	shipped := n.confListExtra(t, "1.0.0", map[string]interface{}{
		"cniVersions": []string{"1.0.0", "1.1.0"},
	})
	if err := validate(shipped); err != nil {
		t.Errorf("shipped conflist (1.0.0 + cniVersions 1.0.0,1.1.0): %v", err)
	}
	vers := append([]string{}, resultVersions...)
	if contains(prof().versions, "1.1.0") {
		// What a newer libcni validates after selecting 1.1.0.
		vers = append(vers, "1.1.0")
	}
	for _, v := range vers {
		if err := validate(n.confList(t, v)); err != nil {
			t.Errorf("conflist cniVersion %s: %v", v, err)
		}
	}
	// The check must be able to fail.
	if err := validate(n.confList(t, "9.9.9")); err == nil {
		t.Errorf("conflist cniVersion 9.9.9 passed validation")
	}
}

// TestCNIArgs: runtimes build CNI_ARGS from a map (containerd) or append
// extra pairs (CRI-O), so order and content vary (T19).
func TestCNIArgs(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("shuffle seed %d", seed)
	base := func(cid string) [][2]string {
		return [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", "cf-ns"},
			{"K8S_POD_NAME", "cf-pod-" + cid[:8]},
			{"K8S_POD_INFRA_CONTAINER_ID", cid},
			{"K8S_POD_UID", "0b7e8c1e-" + cid[:4] + "-4b1c-9a51-" + cid[:12]},
		}
	}
	cases := []struct {
		name string
		edit func(args [][2]string) [][2]string
	}{
		{"random-order", func(a [][2]string) [][2]string { return a }},
		{"unknown-key", func(a [][2]string) [][2]string {
			return append(a, [2]string{"SLUICE_CF_UNKNOWN", "x"}, [2]string{"IP", ""})
		}},
		{"no-uid", func(a [][2]string) [][2]string {
			var out [][2]string
			for _, kv := range a {
				if kv[0] != "K8S_POD_UID" {
					out = append(out, kv)
				}
			}
			return out
		}},
	}
	for _, tc := range cases {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			n := mainNode(t)
			r := n.runtime(t)
			list := n.confList(t, "1.0.0")
			p := newPod(t)
			args := tc.edit(base(p.rt.ContainerID))
			rng.Shuffle(len(args), func(i, j int) { args[i], args[j] = args[j], args[i] })
			p.rt.Args = args
			res, err := r.add(t, list, p)
			if err != nil {
				t.Fatalf("ADD with CNI_ARGS %q: %v%s", cniArgs(args), err, r.rec.stderrOf("ADD"))
			}
			a := checkResult(t, n, r, p, "1.0.0", res)
			checkKernel(t, n, p, a)
			if err := r.del(list, p); err != nil {
				t.Fatalf("DEL with CNI_ARGS %q: %v%s", cniArgs(args), err, r.rec.stderrOf("DEL"))
			}
			checkGone(t, n, p, a)
		})
	}
}

func cniArgs(a [][2]string) string {
	var s []string
	for _, kv := range a {
		s = append(s, kv[0]+"="+kv[1])
	}
	return strings.Join(s, ";")
}

// TestChainPortmap: sluice then portmap with a hostPort (T15). portmap
// finds the pod IP through ips[].interface -> eth0 with a sandbox.
func TestChainPortmap(t *testing.T) {
	const hostPort, podPort = 18080, 80
	n := mainNode(t)
	r := n.runtime(t)
	list := n.confList(t, "1.0.0", map[string]interface{}{
		"type":         "portmap",
		"capabilities": map[string]bool{"portMappings": true},
	})
	p := newPod(t)
	p.rt.CapabilityArgs = map[string]interface{}{
		"portMappings": []map[string]interface{}{
			{"hostPort": hostPort, "containerPort": podPort, "protocol": "tcp"},
		},
	}
	res := r.mustAdd(t, list, p)
	a := checkResult(t, n, r, p, "1.0.0", res)

	chain := dnatChain(t, p.rt.ContainerID)
	if chain == "" {
		t.Fatalf("no CNI-DN chain for container %s after ADD:\n%s", p.rt.ContainerID, natRules(t))
	}

	token := "sluice-cf-" + randHex(4)
	startServer(t, p, podPort, token)
	// Direct reachability first: if this fails the fault is the pod
	// datapath, not the DNAT.
	direct := net.JoinHostPort(a.ip.String(), fmt.Sprint(podPort))
	if got, err := fetch(direct, 10*time.Second); err != nil || got != token {
		t.Errorf("node -> pod %s: %q, %v", direct, got, err)
	}
	viaHost := net.JoinHostPort(n.ip.String(), fmt.Sprint(hostPort))
	if got, err := fetch(viaHost, 10*time.Second); err != nil || got != token {
		t.Errorf("node -> hostPort %s: %q, %v\n%s", viaHost, got, err, natRules(t))
	}

	if err := r.del(list, p); err != nil {
		t.Fatalf("DEL: %v%s", err, r.rec.stderrOf("DEL"))
	}
	checkGone(t, n, p, a)
	rules := natRules(t)
	if strings.Contains(rules, chain) || strings.Contains(rules, p.rt.ContainerID) {
		t.Errorf("DNAT for %s left after DEL:\n%s", p.rt.ContainerID, rules)
	}
	if got, err := fetch(viaHost, 0); err == nil {
		t.Errorf("hostPort %s still answers %q after DEL", viaHost, got)
	}
}

var dnatJump = regexp.MustCompile(`-j (CNI-DN-[0-9a-f]+)`)

// dnatChain returns the per-container DNAT chain portmap installed, found
// through the rule whose comment names the container.
func dnatChain(t *testing.T, cid string) string {
	for _, l := range strings.Split(natRules(t), "\n") {
		if strings.Contains(l, cid) {
			if m := dnatJump.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

// natRules is the node netns's nat table (this process runs there).
func natRules(t *testing.T) string {
	return mustRun(t, "iptables-save", "-t", "nat")
}

// startServer runs this test binary as a TCP server inside the pod netns
// and waits until it listens.
func startServer(t *testing.T, p *pod, port int, token string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command("nsenter", "--net="+p.path(), "--", self)
	c.Env = append(os.Environ(),
		fmt.Sprintf("SLUICE_CF_SERVE=0.0.0.0:%d", port), "SLUICE_CF_TOKEN="+token)
	c.Stderr = os.Stderr
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Held open until cleanup; its EOF stops the server.
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		c.Process.Kill()
		c.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("server said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("server in pod: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server in pod did not start")
	}
}

// fetch connects to addr from the node netns and reads one line. It
// retries for up to patience, as a datapath may converge shortly after ADD
// (SPECS A.4 CHECK); patience 0 means one attempt.
func fetch(addr string, patience time.Duration) (string, error) {
	deadline := time.Now().Add(patience)
	for {
		got, err := fetchOnce(addr)
		if err == nil || time.Now().After(deadline) {
			return got, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func fetchOnce(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// TestChainBandwidth: sluice then bandwidth (T16). bandwidth shapes
// ingress on the host veth, which it finds in prevResult as the
// sandbox-less interface whose peer is eth0.
func TestChainBandwidth(t *testing.T) {
	n := mainNode(t)
	r := n.runtime(t)
	list := n.confList(t, "1.0.0", map[string]interface{}{
		"type":         "bandwidth",
		"capabilities": map[string]bool{"bandwidth": true},
	})
	p := newPod(t)
	const rate = 8000000 // bit/s
	p.rt.CapabilityArgs = map[string]interface{}{
		"bandwidth": map[string]interface{}{"ingressRate": rate, "ingressBurst": rate},
	}
	res, err := r.add(t, list, p)
	if err != nil {
		t.Fatalf("ADD: %v%s", err, r.rec.stderrOf("ADD"))
	}
	a := checkResult(t, n, r, p, "1.0.0", res)

	out := mustRun(t, "tc", "-j", "qdisc", "show", "dev", a.hostVeth)
	var qdiscs []map[string]interface{}
	if err := json.Unmarshal([]byte(out), &qdiscs); err != nil {
		t.Fatalf("tc -j: %v: %s", err, out)
	}
	var tbf map[string]interface{}
	for _, q := range qdiscs {
		if q["kind"] == "tbf" {
			tbf = q
		}
	}
	if tbf == nil {
		t.Errorf("no tbf qdisc on host veth %s: %s", a.hostVeth, out)
	} else if o, _ := tbf["options"].(map[string]interface{}); o == nil || o["rate"] != float64(rate/8) {
		// tc -j reports the rate in bytes/s.
		t.Errorf("tbf on %s: %s, want rate %d bytes/s", a.hostVeth, jsonString(tbf), rate/8)
	}

	if err := r.del(list, p); err != nil {
		t.Fatalf("DEL: %v%s", err, r.rec.stderrOf("DEL"))
	}
	checkGone(t, n, p, a)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
