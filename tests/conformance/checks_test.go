// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package conformance

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// checkResult validates an ADD result against SPECS.md A.5 and the sluice
// contract (interfaces[0] host veth, interfaces[1] eth0, ips[0] the pod
// address on eth0, default route via the gateway) and returns what it says.
func checkResult(t *testing.T, n *node, r *runtime, p *pod, ver string, res types.Result) attachment {
	t.Helper()
	if res.Version() != ver {
		t.Errorf("result cniVersion %q, want the request's %q", res.Version(), ver)
	}
	checkRawAdd(t, r, ver)

	pr := podResult(t, res)
	if len(pr.Interfaces) != 2 {
		t.Fatalf("interfaces = %s, want [host veth, %s]", jsonString(pr.Interfaces), p.rt.IfName)
	}
	host, eth0 := pr.Interfaces[0], pr.Interfaces[1]
	if host.Name == "" || host.Sandbox != "" {
		t.Errorf("interfaces[0] = %s, want the host veth with empty sandbox "+
			"(bandwidth finds the host side this way, SPECS A.9)", jsonString(host))
	}
	if eth0.Name != p.rt.IfName || eth0.Sandbox != p.path() {
		t.Errorf("interfaces[1] = %s, want name %q sandbox %q (portmap picks the "+
			"container IP through it, SPECS A.9)", jsonString(eth0), p.rt.IfName, p.path())
	}

	if len(pr.IPs) == 0 {
		t.Fatalf("result has no ips: %s", jsonString(pr))
	}
	for i, ipc := range pr.IPs {
		if ipc.Interface == nil || *ipc.Interface != 1 {
			t.Errorf("ips[%d].interface = %v, want 1 (eth0); containerd maps "+
				"IPs to eth0 through it (SPECS B.3)", i, jsonString(ipc.Interface))
		}
	}
	ip0 := pr.IPs[0]
	a := attachment{hostVeth: host.Name, hostMAC: host.Mac, podMAC: eth0.Mac}
	a.ip = ip0.Address.IP.To4()
	ones, bits := ip0.Address.Mask.Size()
	a.mask = ones
	if a.ip == nil || bits != 32 {
		t.Fatalf("ips[0].address = %s, want IPv4", ip0.Address.String())
	}
	if !n.podCIDR.Contains(a.ip) {
		t.Errorf("ips[0].address %s outside podCIDR %s", a.ip, n.podCIDR)
	}
	if ones != prof().prefixLen {
		t.Errorf("ips[0].address %s, want a /%d", ip0.Address.String(), prof().prefixLen)
	}
	gw := prof().gateway(n.podCIDR)
	if !ip0.Gateway.Equal(gw) {
		t.Errorf("ips[0].gateway = %v, want %v", ip0.Gateway, gw)
	}
	found := false
	for _, rt := range pr.Routes {
		if ones, _ := rt.Dst.Mask.Size(); rt.Dst.IP.Equal(net.IPv4zero) && ones == 0 {
			found = true
			// ptp leaves the next hop to ips[].gateway; sluice
			// must state it (contract: default via 169.254.1.1).
			if env.plugin == "sluice" && !rt.GW.Equal(gw) {
				t.Errorf("default route gw = %v, want %v", rt.GW, gw)
			}
		}
	}
	if !found {
		t.Errorf("routes = %s, want a default route", jsonString(pr.Routes))
	}
	return a
}

// checkRawAdd looks at the plugin's own stdout, not libcni's parse of it:
// exactly one JSON document, cniVersion echoed, and for 0.3.x/0.4.0 every
// ips[] entry carrying "version" (SPECS A.1, A.5, A.8).
func checkRawAdd(t *testing.T, r *runtime, ver string) {
	t.Helper()
	c, ok := r.rec.last(env.plugin, "ADD")
	if !ok {
		t.Fatalf("no ADD call of %s recorded", env.plugin)
	}
	dec := json.NewDecoder(bytes.NewReader(c.stdout))
	var raw struct {
		CNIVersion string                   `json:"cniVersion"`
		IPs        []map[string]interface{} `json:"ips"`
	}
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("ADD stdout is not JSON: %v: %q", err, c.stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("ADD stdout has more than one JSON document: %q", c.stdout)
	}
	if raw.CNIVersion != ver {
		t.Errorf("raw ADD result cniVersion %q, want %q", raw.CNIVersion, ver)
	}
	if ver == "1.0.0" {
		return
	}
	for i, ip := range raw.IPs {
		want := "4"
		if addr, _ := ip["address"].(string); strings.Contains(addr, ":") {
			want = "6"
		}
		if v, _ := ip["version"].(string); v != want {
			t.Errorf("raw %s result ips[%d] = %s, want \"version\":%q", ver, i, jsonString(ip), want)
		}
	}
}

// checkKernel looks at the netns themselves: eth0 up with the address
// and MTU, the default route via the gateway, and interfaces[0] really
// being eth0's veth peer in the node netns.
func checkKernel(t *testing.T, n *node, p *pod, a attachment) {
	t.Helper()
	links, err := ipJSON(p.ns, "-d", "addr", "show", "dev", p.rt.IfName)
	if err != nil || len(links) != 1 {
		t.Fatalf("pod %s in %s: %v %v", p.rt.IfName, p.ns, err, links)
	}
	l := links[0]
	if !hasFlags(l, "UP", "LOWER_UP") {
		t.Errorf("pod %s flags %v, want UP,LOWER_UP", p.rt.IfName, l["flags"])
	}
	if mtu, _ := l["mtu"].(float64); int(mtu) != podMTU {
		t.Errorf("pod %s mtu %v, want the configured %d", p.rt.IfName, l["mtu"], podMTU)
	}
	if mac, _ := l["address"].(string); a.podMAC != "" && !strings.EqualFold(mac, a.podMAC) {
		t.Errorf("pod %s mac %s, result says %s", p.rt.IfName, mac, a.podMAC)
	}
	hasAddr := false
	addrs, _ := l["addr_info"].([]interface{})
	for _, ai := range addrs {
		m, _ := ai.(map[string]interface{})
		plen, _ := m["prefixlen"].(float64)
		if m["family"] == "inet" && m["local"] == a.ip.String() && int(plen) == a.mask {
			hasAddr = true
		}
	}
	if !hasAddr {
		t.Errorf("pod %s has no %s/%d: %s", p.rt.IfName, a.ip, a.mask, jsonString(addrs))
	}

	routes, err := ipJSON(p.ns, "route", "show", "default")
	if err != nil {
		t.Fatal(err)
	}
	gw := prof().gateway(n.podCIDR).String()
	ok := false
	for _, r := range routes {
		if r["gateway"] == gw && r["dev"] == p.rt.IfName {
			ok = true
		}
	}
	if !ok {
		t.Errorf("pod default route %s, want via %s dev %s", jsonString(routes), gw, p.rt.IfName)
	}

	hosts, err := ipJSON(n.ns, "-d", "link", "show", "dev", a.hostVeth)
	if err != nil || len(hosts) != 1 {
		t.Fatalf("host veth %s in node netns: %v", a.hostVeth, err)
	}
	h := hosts[0]
	if li, _ := h["linkinfo"].(map[string]interface{}); li == nil || li["info_kind"] != "veth" {
		t.Errorf("host interface %s is not a veth: %s", a.hostVeth, jsonString(h["linkinfo"]))
	}
	if !hasFlags(h, "UP", "LOWER_UP") {
		t.Errorf("host veth %s flags %v, want UP,LOWER_UP", a.hostVeth, h["flags"])
	}
	if mac, _ := h["address"].(string); a.hostMAC != "" && !strings.EqualFold(mac, a.hostMAC) {
		t.Errorf("host veth %s mac %s, result says %s", a.hostVeth, mac, a.hostMAC)
	}
	if peer, idx := l["link_index"], h["ifindex"]; peer == nil || peer != idx {
		t.Errorf("pod %s peer ifindex %v, host veth %s ifindex %v: interfaces[0] is "+
			"not eth0's peer", p.rt.IfName, peer, a.hostVeth, idx)
	}
}

// checkGone asserts DEL removed the veth pair and every host route to the
// pod address.
func checkGone(t *testing.T, n *node, p *pod, a attachment) {
	t.Helper()
	if linkExists(t, n.ns, a.hostVeth) {
		t.Errorf("host veth %s still exists after DEL", a.hostVeth)
	}
	if linkExists(t, p.ns, p.rt.IfName) {
		t.Errorf("pod %s still exists after DEL", p.rt.IfName)
	}
	routes, err := ipJSON(n.ns, "route", "show", "table", "all", "exact", a.ip.String()+"/32")
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 0 {
		t.Errorf("host routes to %s left after DEL: %s", a.ip, jsonString(routes))
	}
}

func hasFlags(link map[string]interface{}, want ...string) bool {
	flags, _ := link["flags"].([]interface{})
	for _, w := range want {
		ok := false
		for _, f := range flags {
			if f == w {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
