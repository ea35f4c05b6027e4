// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// Every plugin call gets this long; a hung plugin fails its test instead
// of the whole run.
const pluginTimeout = 60 * time.Second

// profile holds what differs between the plugin under test and the
// reference ptp plugin used to validate the harness. Everything else is
// asserted identically for both.
type profile struct {
	// versions VERSION must list.
	versions []string
	// prefixLen of the pod address in the result and on eth0.
	prefixLen int
	// gateway returns the expected ips[].gateway and default route
	// next hop for a pod CIDR.
	gateway func(podCIDR *net.IPNet) net.IP
	// conf returns the plugin's entry in a conflist for node n.
	conf func(n *node) map[string]interface{}
}

// The pod MTU is not the default 1500 so that honouring `mtu` is visible.
const podMTU = 1450

var profiles = map[string]profile{
	"sluice": {
		versions:  []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"},
		prefixLen: 32,
		gateway:   func(*net.IPNet) net.IP { return net.ParseIP("169.254.1.1").To4() },
		conf: func(n *node) map[string]interface{} {
			return map[string]interface{}{
				"type":    "sluice",
				"podCIDR": n.podCIDR.String(),
				"bpfRoot": n.bpfRoot,
				"runDir":  n.runDir,
				"mtu":     podMTU,
			}
		},
	},
	"ptp": {
		versions:  []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0"},
		prefixLen: 24,
		gateway: func(c *net.IPNet) net.IP {
			gw := append(net.IP(nil), c.IP.To4()...)
			gw[3]++
			return gw
		},
		conf: func(n *node) map[string]interface{} {
			return map[string]interface{}{
				"type": "ptp",
				"mtu":  podMTU,
				"ipam": map[string]interface{}{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": n.podCIDR.String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": filepath.Join(n.runDir, "ipam"),
				},
			}
		},
	},
}

func prof() profile { return profiles[env.plugin] }

// node is a network namespace the plugin runs in, with its own bpffs
// mount (bpfRoot) and runDir, as a kubelet node has.
type node struct {
	ns      string // netns name under /run/netns
	podCIDR *net.IPNet
	ip      net.IP // underlay address
	bpfRoot string
	runDir  string
	// own is true for the node this process runs in: plugins are then
	// executed directly, otherwise through nsenter.
	own bool
}

func mainNode(t *testing.T) *node {
	_, cidr, err := net.ParseCIDR(env.podCIDR)
	if err != nil {
		t.Fatal(err)
	}
	return &node{
		ns:      env.nodeNS,
		podCIDR: cidr,
		ip:      net.ParseIP(env.nodeIP),
		bpfRoot: filepath.Join(env.bpfMount, "sluice"),
		runDir:  env.runDir,
		own:     true,
	}
}

// newNode creates an extra node for tests that need a pool of their own:
// netns, bpffs mount and runDir, all removed when t ends.
func newNode(t *testing.T, cidr string) *node {
	_, c, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{ns: uniqueName("n"), podCIDR: c}
	dir := filepath.Join(env.work, n.ns)
	n.runDir = filepath.Join(dir, "run")
	bpf := filepath.Join(dir, "bpf")
	n.bpfRoot = filepath.Join(bpf, "sluice")
	for _, d := range []string{n.runDir, bpf} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	mustRun(t, "mount", "-t", "bpf", "bpf", bpf)
	t.Cleanup(func() { run("umount", bpf) })
	mustRun(t, "ip", "netns", "add", n.ns)
	t.Cleanup(func() { run("ip", "netns", "del", n.ns) })
	mustRun(t, "ip", "-n", n.ns, "link", "set", "lo", "up")
	return n
}

// cmd runs argv inside the node's netns.
func (n *node) cmd(argv ...string) (string, error) {
	return run(append([]string{"nsenter", "--net=" + nsPath(n.ns), "--"}, argv...)...)
}

// confList builds the conflist a runtime would load: the plugin under test
// first, then the chained plugins.
func (n *node) confList(t *testing.T, ver string, chained ...map[string]interface{}) *libcni.NetworkConfigList {
	return n.confListExtra(t, ver, nil, chained...)
}

func (n *node) confListExtra(t *testing.T, ver string, extra map[string]interface{},
	chained ...map[string]interface{}) *libcni.NetworkConfigList {
	plugins := []map[string]interface{}{prof().conf(n)}
	plugins = append(plugins, chained...)
	list := map[string]interface{}{
		"cniVersion": ver,
		"name":       "sluice-cf",
		"plugins":    plugins,
	}
	for k, v := range extra {
		list[k] = v
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	l, err := libcni.ConfListFromBytes(b)
	if err != nil {
		t.Fatalf("conflist %s: %v", b, err)
	}
	return l
}

// runtime is one libcni CNIConfig, as containerd/CRI-O hold, with a
// private result cache and a recording exec.
type runtime struct {
	cni  *libcni.CNIConfig
	rec  *recExec
	node *node
}

func (n *node) runtime(t *testing.T) *runtime {
	rec := &recExec{}
	if !n.own {
		rec.nsPath = nsPath(n.ns)
	}
	cache := t.TempDir()
	// Plugin logs only matter when something failed; then every call
	// of the test is shown, in order, to reproduce it.
	t.Cleanup(func() {
		if t.Failed() {
			rec.dump(t)
		}
	})
	return &runtime{
		cni:  libcni.NewCNIConfigWithCacheDir(env.cniPath, cache, rec),
		rec:  rec,
		node: n,
	}
}

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), pluginTimeout)
}

// pod is a sandbox: a netns plus the runtime parameters of its attachment.
type pod struct {
	ns string
	rt *libcni.RuntimeConf
}

func (p *pod) path() string { return nsPath(p.ns) }

// newPod creates an empty pod netns (with loopback up, as runtimes do
// through the loopback plugin) and a container ID in the runtime's 64-hex
// format.
func newPod(t *testing.T) *pod {
	p := &pod{ns: uniqueName("p")}
	mustRun(t, "ip", "netns", "add", p.ns)
	t.Cleanup(func() { run("ip", "netns", "del", p.ns) })
	mustRun(t, "ip", "-n", p.ns, "link", "set", "lo", "up")
	p.rt = &libcni.RuntimeConf{
		ContainerID: randHex(32),
		NetNS:       p.path(),
		IfName:      "eth0",
	}
	return p
}

// add runs ADD through libcni. On success a cleanup DEL is registered so a
// failing test still releases what the plugin allocated; it runs before
// the netns removal registered by newPod.
func (r *runtime) add(t *testing.T, list *libcni.NetworkConfigList, p *pod) (types.Result, error) {
	c, cancel := ctx()
	defer cancel()
	res, err := r.cni.AddNetworkList(c, list, p.rt)
	if err == nil {
		t.Cleanup(func() {
			c, cancel := ctx()
			defer cancel()
			r.cni.DelNetworkList(c, list, p.rt)
		})
	}
	return res, err
}

func (r *runtime) mustAdd(t *testing.T, list *libcni.NetworkConfigList, p *pod) types.Result {
	t.Helper()
	res, err := r.add(t, list, p)
	if err != nil {
		t.Fatalf("ADD %s (cniVersion %s): %v%s", p.rt.ContainerID, list.CNIVersion, err, r.rec.stderrOf("ADD"))
	}
	return res
}

func (r *runtime) del(list *libcni.NetworkConfigList, p *pod) error {
	c, cancel := ctx()
	defer cancel()
	return r.cni.DelNetworkList(c, list, p.rt)
}

func (r *runtime) check(list *libcni.NetworkConfigList, p *pod) error {
	c, cancel := ctx()
	defer cancel()
	return r.cni.CheckNetworkList(c, list, p.rt)
}

// call is one plugin execution as libcni made it.
type call struct {
	plugin  string // binary name
	command string // CNI_COMMAND
	stdin   []byte
	stdout  []byte
	stderr  []byte
	err     error
}

// recExec is libcni's default exec (invoke.RawExec) plus a record of every
// call, so tests can assert on the plugin's raw JSON (libcni only hands
// back the parsed result, in which e.g. a missing ips[].version would be
// invisible), and plus nsenter for nodes other than our own.
type recExec struct {
	version.PluginDecoder
	nsPath string
	mu     sync.Mutex
	calls  []call
}

func (e *recExec) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	argv := []string{pluginPath}
	if e.nsPath != "" {
		argv = []string{"nsenter", "--net=" + e.nsPath, "--", pluginPath}
	}
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = environ
	c.Stdin = bytes.NewReader(stdin)
	c.Stdout = &stdout
	c.Stderr = &stderr
	err := c.Run()
	cl := call{
		plugin:  filepath.Base(pluginPath),
		command: envValue(environ, "CNI_COMMAND"),
		stdin:   stdin,
		stdout:  stdout.Bytes(),
		stderr:  stderr.Bytes(),
	}
	if err != nil {
		cl.err = pluginErr(err, cl.stdout, cl.stderr)
	}
	e.mu.Lock()
	e.calls = append(e.calls, cl)
	e.mu.Unlock()
	if cl.err != nil {
		return nil, cl.err
	}
	return cl.stdout, nil
}

func (e *recExec) dump(t *testing.T) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, c := range e.calls {
		t.Logf("call %d: %s %s err=%v\n  stdin:  %s\n  stdout: %s\n  stderr: %s",
			i, c.plugin, c.command, c.err, c.stdin, bytes.TrimSpace(c.stdout),
			bytes.TrimSpace(c.stderr))
	}
}

func (e *recExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

// pluginErr mirrors invoke.RawExec: the error JSON comes from stdout, and
// stderr is only used when stdout is empty.
func pluginErr(err error, stdout, stderr []byte) error {
	e := &types.Error{}
	switch {
	case len(stdout) == 0 && len(stderr) == 0:
		e.Msg = fmt.Sprintf("netplugin failed with no error message: %v", err)
	case len(stdout) == 0:
		e.Msg = fmt.Sprintf("netplugin failed: %q", string(stderr))
	default:
		if perr := json.Unmarshal(stdout, e); perr != nil {
			e.Msg = fmt.Sprintf("netplugin failed but error parsing its diagnostic message %q: %v", string(stdout), perr)
		}
	}
	return e
}

// last returns the most recent call of command to plugin.
func (e *recExec) last(plugin, command string) (call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.calls) - 1; i >= 0; i-- {
		if e.calls[i].plugin == plugin && e.calls[i].command == command {
			return e.calls[i], true
		}
	}
	return call{}, false
}

func (e *recExec) count(command string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.calls {
		if c.command == command {
			n++
		}
	}
	return n
}

// stderrOf formats the stderr of the last failed call of command, for
// failure messages.
func (e *recExec) stderrOf(command string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.calls) - 1; i >= 0; i-- {
		c := e.calls[i]
		if c.command == command && c.err != nil {
			return fmt.Sprintf("\n  %s stdin: %s\n  %s stderr: %s", c.plugin, c.stdin, c.plugin,
				bytes.TrimSpace(c.stderr))
		}
	}
	return ""
}

// attachment is what a result says about one pod, after validation.
type attachment struct {
	hostVeth string
	hostMAC  string
	podMAC   string
	ip       net.IP
	mask     int
}

// podResult converts any supported result version to 1.0.0, the way
// runtimes consume it (containerd reads interfaces/ips from it).
func podResult(t *testing.T, res types.Result) *types100.Result {
	t.Helper()
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		t.Fatalf("result %v does not convert to 1.0.0: %v", res, err)
	}
	return r
}

// --- system helpers ---------------------------------------------------------

func run(argv ...string) (string, error) {
	var out, errb bytes.Buffer
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdout = &out
	c.Stderr = &errb
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err,
			strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func mustRun(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := run(argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ipJSON runs `ip -j ARGS` in netns ns and decodes the array it prints.
func ipJSON(ns string, args ...string) ([]map[string]interface{}, error) {
	out, err := run(append([]string{"ip", "-n", ns, "-j"}, args...)...)
	if err != nil {
		return nil, err
	}
	var v []map[string]interface{}
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("ip -j %v: %v: %s", args, err, out)
	}
	return v, nil
}

// linkExists asks the kernel directly; an error other than "does not
// exist" fails the test so a broken `ip` cannot pass as "gone".
func linkExists(t *testing.T, ns, dev string) bool {
	t.Helper()
	_, err := run("ip", "-n", ns, "link", "show", "dev", dev)
	if err == nil {
		return true
	}
	if strings.Contains(err.Error(), "does not exist") {
		return false
	}
	t.Fatalf("link %s in %s: %v", dev, ns, err)
	return false
}

func nsPath(name string) string { return "/run/netns/" + name }

func sameNetns(a, b string) bool {
	var sa, sb syscall.Stat_t
	if syscall.Stat(a, &sa) != nil || syscall.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// netnsID formats a netns like `stat -L -c %d:%i`.
func netnsID(path string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino), nil
}

var nameSeq struct {
	sync.Mutex
	n int
}

// uniqueName returns a netns name under the run's prefix, which run.sh
// sweeps on exit.
func uniqueName(kind string) string {
	nameSeq.Lock()
	defer nameSeq.Unlock()
	nameSeq.n++
	return fmt.Sprintf("%s-%s%d", env.prefix, kind, nameSeq.n)
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func envValue(environ []string, key string) string {
	for _, kv := range environ {
		if strings.HasPrefix(kv, key+"=") {
			return kv[len(key)+1:]
		}
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ":") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func jsonString(v interface{}) string {
	b, _ := json.Marshal(v)
	return string(b)
}
