// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

// sl-cnirun runs a CNI network configuration list the way a container
// runtime does: through libcni, the library containerd (go-cni) and CRI-O
// (ocicni) call. It is the "runtime" of the local cluster and the tests.
//
//	sl-cnirun add|check|del -conflist F -netns PATH -cid ID [-ifname eth0]
//	          [-args K=V;K=V] [-cap JSON] [-cache DIR]
//	sl-cnirun version -conflist F
//
// add prints the result (converted to the list's version) on stdout. A
// plugin error is printed as the CNI error JSON with exit code 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sl-cnirun add|check|del|version [flags]")
		os.Exit(2)
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	conflist := fs.String("conflist", "", "network configuration list file")
	netns := fs.String("netns", "", "network namespace path")
	cid := fs.String("cid", "", "container ID")
	ifname := fs.String("ifname", "eth0", "interface name")
	cniArgs := fs.String("args", "", "CNI_ARGS, K=V;K=V")
	capJSON := fs.String("cap", "", "capability args as JSON, e.g. {\"portMappings\":[...]}")
	cacheDir := fs.String("cache", "", "libcni result cache directory")
	binDirs := fs.String("path", os.Getenv("CNI_PATH"), "plugin search path")
	fs.Parse(os.Args[2:])

	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(*binDirs, ":"), *cacheDir, nil)
	ctx := context.Background()

	if cmd == "version" {
		for _, p := range list.Plugins {
			info, err := cni.GetVersionInfo(ctx, p.Network.Type)
			if err != nil {
				fail(err)
			}
			fmt.Printf("%s: %s\n", p.Network.Type, strings.Join(info.SupportedVersions(), " "))
		}
		if _, err := cni.ValidateNetworkList(ctx, list); err != nil {
			fail(err)
		}
		return
	}

	rt := &libcni.RuntimeConf{ContainerID: *cid, NetNS: *netns, IfName: *ifname}
	for _, kv := range strings.Split(*cniArgs, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			rt.Args = append(rt.Args, [2]string{k, v})
		}
	}
	if *capJSON != "" {
		if err := json.Unmarshal([]byte(*capJSON), &rt.CapabilityArgs); err != nil {
			fail(err)
		}
	}

	switch cmd {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		if err := res.Print(); err != nil {
			fail(err)
		}
	case "check":
		err = cni.CheckNetworkList(ctx, list, rt)
	case "del":
		err = cni.DelNetworkList(ctx, list, rt)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", cmd)
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	if e, ok := err.(*types.Error); ok {
		e.Print()
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(1)
}
