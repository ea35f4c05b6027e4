// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

// Package conformance drives the sluice CNI plugin the way container
// runtimes do, through libcni, and checks it against the CNI spec
// (SPECS.md sections A and B, test IDs T13-T16 and T19).
//
// It must run inside a node network namespace prepared by run.sh; the
// environment variables below describe that node. It refuses to run in the
// root network namespace because plugins and iptables would then change the
// host.
package conformance

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
)

// Set by run.sh.
var env struct {
	plugin   string // "sluice", or "ptp" to validate the harness itself
	prefix   string // per-run prefix of every netns name
	nodeNS   string // netns this process runs in
	nodeIP   string // underlay address of the node (hostPort target)
	podCIDR  string
	bpfMount string // private bpffs mount of the node
	runDir   string
	work     string // scratch directory (extra nodes, caches)
	cniPath  []string
}

func TestMain(m *testing.M) {
	// The test binary doubles as the TCP server that T15 starts inside a
	// pod netns (a goroutine would listen in the node netns instead).
	if addr := os.Getenv("SLUICE_CF_SERVE"); addr != "" {
		os.Exit(serve(addr, os.Getenv("SLUICE_CF_TOKEN")))
	}
	if err := loadEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		fmt.Fprintln(os.Stderr, "conformance: run tests/conformance/run.sh")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func loadEnv() error {
	get := func(k string) (string, error) {
		v := os.Getenv(k)
		if v == "" {
			return "", fmt.Errorf("%s not set", k)
		}
		return v, nil
	}
	var err error
	for _, f := range []struct {
		dst *string
		key string
	}{
		{&env.plugin, "SLUICE_CF_PLUGIN"},
		{&env.prefix, "SLUICE_CF_PREFIX"},
		{&env.nodeNS, "SLUICE_CF_NODE_NS"},
		{&env.nodeIP, "SLUICE_CF_NODE_IP"},
		{&env.podCIDR, "SLUICE_CF_POD_CIDR"},
		{&env.bpfMount, "SLUICE_CF_BPF_MOUNT"},
		{&env.runDir, "SLUICE_CF_RUN_DIR"},
		{&env.work, "SLUICE_CF_WORK"},
	} {
		if *f.dst, err = get(f.key); err != nil {
			return err
		}
	}
	path, err := get("SLUICE_CF_CNI_PATH")
	if err != nil {
		return err
	}
	env.cniPath = splitList(path)
	if _, ok := profiles[env.plugin]; !ok {
		return fmt.Errorf("unknown SLUICE_CF_PLUGIN %q", env.plugin)
	}
	// Safety: plugins and iptables change the netns they run in, so
	// it must be the node netns and not the one run.sh was started in
	// (normally the root one; /proc/1/ns may be unreadable here).
	host, err := get("SLUICE_CF_HOST_NETNS")
	if err != nil {
		return err
	}
	if self, err := netnsID("/proc/self/ns/net"); err != nil || self == host {
		return fmt.Errorf("refusing to run in the caller's network namespace %s", host)
	}
	if !sameNetns("/proc/self/ns/net", nsPath(env.nodeNS)) {
		return fmt.Errorf("not running inside netns %s", env.nodeNS)
	}
	return nil
}

// serve answers every TCP connection on addr with token and a newline. It
// prints "ready" once listening so the parent knows when to connect, and
// exits when its stdin closes, i.e. when the test binary is gone, so a
// crashed run cannot leave it holding the pod netns.
func serve(addr, token string) int {
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		return 1
	}
	fmt.Println("ready")
	for {
		c, err := l.Accept()
		if err != nil {
			return 1
		}
		w := bufio.NewWriter(c)
		fmt.Fprintln(w, token)
		w.Flush()
		c.Close()
	}
}
