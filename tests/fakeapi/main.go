// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

// sl-fakeapi is a fake Kubernetes API server for the node agent's tests.
// It serves LIST/WATCH/GET of the resources the agent reads, over TLS
// with bearer-token or client-certificate auth, and behaves like the real
// apiserver in the ways SPECS.md section C lists (pagination and expired
// continue tokens, watch resourceVersion semantics, 410 as a status or an
// ERROR event, bookmarks, timeoutSeconds, chunk boundaries), with a plain
// HTTP control port through which tests change objects, turn those
// behaviours on and read request counters. See README.md.
//
//	sl-fakeapi [-listen 127.0.0.1:0] [-control 127.0.0.1:0] [-state DIR]
//	           [-token-file F] [-client-ca] [-seed F] [-insecure-http ADDR] ...
//
// The first line on stdout is "listening https://127.0.0.1:PORT", then
// "control http://127.0.0.1:PORT" and "state DIR".
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	listen       string
	control      string
	insecureHTTP string
	stateDir     string
	tokenFile    string
	seed         string
	sans         string
	clientCA     bool
	http2        bool
	verbose      bool
	rvStart      uint64
	maxHistory   int
	cfg          config
}

func parseFlags(args []string) (options, error) {
	o := options{cfg: defaultConfig()}
	fs := flag.NewFlagSet("sl-fakeapi", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "TLS API address (port 0 picks one)")
	fs.StringVar(&o.control, "control", "127.0.0.1:0", "plain HTTP control address")
	fs.StringVar(&o.insecureHTTP, "insecure-http", "", "also serve the API over plain HTTP here (debugging)")
	fs.StringVar(&o.stateDir, "state", "", "directory for ca.crt/key, server.crt/key, client.crt/key, kubeconfig (default: a new temp dir)")
	fs.StringVar(&o.tokenFile, "token-file", "", "bearer tokens, one per line, re-read on every request")
	fs.StringVar(&o.seed, "seed", "", "JSON file of objects (array, List or single object) loaded at startup")
	fs.StringVar(&o.sans, "san", "", "extra server certificate SANs, comma-separated")
	fs.BoolVar(&o.clientCA, "client-ca", false, "accept client certificates signed by the CA; mint client.crt/key")
	fs.BoolVar(&o.http2, "http2", false, "offer HTTP/2 over ALPN (default HTTP/1.1 only, so watches are chunked)")
	fs.BoolVar(&o.verbose, "v", false, "log every request to stderr")
	fs.Uint64Var(&o.rvStart, "rv-start", 0, "initial resourceVersion counter")
	fs.IntVar(&o.maxHistory, "max-history", 100000, "changes kept before automatic compaction (0 = unbounded)")
	cont := fs.Duration("continue-ttl", time.Duration(o.cfg.ContinueTTL), "continue tokens expire after this (0 = never)")
	bm := fs.Duration("bookmark-interval", time.Duration(o.cfg.BookmarkInterval), "BOOKMARK interval for allowWatchBookmarks watches")
	wt := fs.Duration("watch-timeout", 0, "server-side watch timeout when the client sends no timeoutSeconds (0 = none)")
	fs.StringVar(&o.cfg.Gone, "gone", o.cfg.Gone, "watch from a compacted RV: event (ERROR event on a 200) or status (HTTP 410)")
	fs.StringVar(&o.cfg.Chunking, "chunking", o.cfg.Chunking, "watch chunk boundaries: natural, split, packed or mixed")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.cfg.ContinueTTL = duration(*cont)
	o.cfg.BookmarkInterval = duration(*bm)
	o.cfg.WatchTimeout = duration(*wt)
	return o, o.cfg.validate()
}

func newServer(o options) (*server, error) {
	if o.stateDir == "" {
		d, err := os.MkdirTemp("", "sl-fakeapi-")
		if err != nil {
			return nil, err
		}
		o.stateDir = d
	}
	if err := os.MkdirAll(o.stateDir, 0755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(o.stateDir)
	if err != nil {
		return nil, err
	}
	o.stateDir = abs
	if o.tokenFile != "" {
		if o.tokenFile, err = filepath.Abs(o.tokenFile); err != nil {
			return nil, err
		}
	}
	sans := []string{"localhost", "127.0.0.1", "::1"}
	if h, _, err := net.SplitHostPort(o.listen); err == nil && h != "" && net.ParseIP(h) != nil {
		// A fake server inside a test netns may listen on that netns'
		// address; the agent must be able to verify it there too.
		sans = append(sans, h)
	}
	for _, x := range strings.Split(o.sans, ",") {
		if x = strings.TrimSpace(x); x != "" {
			sans = append(sans, x)
		}
	}
	p, err := newPKI(o.stateDir, sans, o.clientCA)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	s := &server{opts: o, store: newStore(o.rvStart, o.maxHistory), stats: newStats(), pki: p,
		cfg: o.cfg, done: make(chan struct{})}
	if o.seed != "" {
		b, err := os.ReadFile(o.seed)
		if err != nil {
			return nil, err
		}
		ops, err := decodeItems(b, nil)
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", o.seed, err)
		}
		s.store.apply(ops)
	}
	return s, nil
}

// start binds every listener and serves in the background.
func (s *server) start() error {
	errLog := log.New(os.Stderr, "sl-fakeapi: ", log.LstdFlags)
	if !s.opts.verbose {
		// TLS handshake failures are expected in negative tests.
		errLog = log.New(io.Discard, "", 0)
	}
	ln, err := net.Listen("tcp", s.opts.listen)
	if err != nil {
		return err
	}
	s.apiURL = "https://" + ln.Addr().String()
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{s.pki.server}, MinVersion: tls.VersionTLS12}
	if s.opts.clientCA {
		// Request but do not require: a token still works, and a bad
		// certificate falls through to a 401 like the union authenticator.
		tlsCfg.ClientAuth = tls.RequestClientCert
	}
	api := &http.Server{Handler: http.HandlerFunc(s.serveAPI), TLSConfig: tlsCfg,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 90 * time.Second, ErrorLog: errLog}
	if !s.opts.http2 {
		api.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	s.servers = append(s.servers, api)
	go api.ServeTLS(ln, "", "")

	cln, err := net.Listen("tcp", s.opts.control)
	if err != nil {
		return err
	}
	s.controlURL = "http://" + cln.Addr().String()
	ctl := &http.Server{Handler: s.controlHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	s.servers = append(s.servers, ctl)
	go ctl.Serve(cln)

	if s.opts.insecureHTTP != "" {
		iln, err := net.Listen("tcp", s.opts.insecureHTTP)
		if err != nil {
			return err
		}
		s.insecureURL = "http://" + iln.Addr().String()
		ins := &http.Server{Handler: http.HandlerFunc(s.serveAPI), ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
		s.servers = append(s.servers, ins)
		go ins.Serve(iln)
	}
	return s.writeState()
}

// writeState leaves the URLs and a JSON kubeconfig (valid YAML, SPECS C.1)
// in the state dir for scripts and kubeconfig-driven agent tests.
func (s *server) writeState() error {
	d := s.opts.stateDir
	files := map[string]string{"api.url": s.apiURL + "\n", "control.url": s.controlURL + "\n"}
	users := []any{}
	contexts := []any{}
	if s.opts.tokenFile != "" {
		users = append(users, map[string]any{"name": "token", "user": map[string]any{"tokenFile": s.opts.tokenFile}})
		contexts = append(contexts, map[string]any{"name": "fake", "context": map[string]any{"cluster": "fake", "user": "token"}})
	}
	if s.pki.hasCert {
		users = append(users, map[string]any{"name": "cert", "user": map[string]any{
			"client-certificate": filepath.Join(d, "client.crt"), "client-key": filepath.Join(d, "client.key")}})
		contexts = append(contexts, map[string]any{"name": "fake-cert", "context": map[string]any{"cluster": "fake", "user": "cert"}})
	}
	if len(contexts) == 0 {
		users = append(users, map[string]any{"name": "anonymous", "user": map[string]any{}})
		contexts = append(contexts, map[string]any{"name": "fake", "context": map[string]any{"cluster": "fake", "user": "anonymous"}})
	}
	kc := map[string]any{"apiVersion": "v1", "kind": "Config",
		"clusters": []any{map[string]any{"name": "fake", "cluster": map[string]any{
			"server": s.apiURL, "certificate-authority": filepath.Join(d, "ca.crt")}}},
		"users": users, "contexts": contexts,
		"current-context": contexts[0].(map[string]any)["name"]}
	b, _ := json.MarshalIndent(kc, "", "  ")
	files["kubeconfig"] = string(b) + "\n"
	for name, content := range files {
		tmp := filepath.Join(d, name+".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(d, name)); err != nil {
			return err
		}
	}
	return nil
}

// shutdown ends every watch cleanly first (they would otherwise keep
// http.Server.Shutdown waiting), then stops the listeners.
func (s *server) shutdown() {
	s.closeOnce.Do(func() { close(s.done) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		srv.Shutdown(ctx)
	}
}

func main() {
	// Installed first so a SIGTERM during startup is still a clean exit.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sl-fakeapi:", err)
		os.Exit(2)
	}
	s, err := newServer(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sl-fakeapi:", err)
		os.Exit(1)
	}
	if err := s.start(); err != nil {
		fmt.Fprintln(os.Stderr, "sl-fakeapi:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\ncontrol %s\nstate %s\n", s.apiURL, s.controlURL, s.opts.stateDir)
	if s.insecureURL != "" {
		fmt.Printf("insecure %s\n", s.insecureURL)
	}
	<-sig
	s.shutdown()
}
