// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

// Self-test of the fake API server through a real TLS client: every
// behaviour the agent's tests rely on (SPECS C, T22-T29) is checked here
// first, so an agent test failure points at the agent, not the fake.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

type env struct {
	t       *testing.T
	s       *server
	dir     string
	tokFile string
	token   string
	pool    *x509.CertPool
	client  *http.Client
}

func newEnv(t *testing.T, extra ...string) *env {
	t.Helper()
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("tok-1\n"), 0600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-state", filepath.Join(dir, "state"), "-token-file", tokFile}, extra...)
	o, err := parseFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.shutdown)
	ca, err := os.ReadFile(filepath.Join(dir, "state", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("bad ca.crt")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, s: s, dir: dir, tokFile: tokFile, token: "tok-1", pool: pool,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (e *env) req(path, token string) *http.Response {
	e.t.Helper()
	r, err := http.NewRequest("GET", e.s.apiURL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// get returns status code and body of an authenticated GET.
func (e *env) get(path string) (int, []byte) {
	e.t.Helper()
	resp := e.req(path, e.token)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (e *env) ctl(method, path string, body any) []byte {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	r, _ := http.NewRequest(method, e.s.controlURL+path, rd)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("control %s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out
}

func (e *env) put(objs ...map[string]any) string {
	e.t.Helper()
	var r struct {
		ResourceVersion string `json:"resourceVersion"`
	}
	json.Unmarshal(e.ctl("POST", "/objects", objs), &r)
	return r.ResourceVersion
}

func pod(ns, name, node string, labels map[string]string) map[string]any {
	meta := map[string]any{"name": name, "namespace": ns}
	if labels != nil {
		meta["labels"] = labels
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta,
		"spec": map[string]any{"nodeName": node}}
}

type listResp struct {
	Kind     string `json:"kind"`
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
		Continue        string `json:"continue"`
		Remaining       *int   `json:"remainingItemCount"`
	} `json:"metadata"`
	Items []map[string]any `json:"items"`
}

func (e *env) list(path string) listResp {
	e.t.Helper()
	code, b := e.get(path)
	if code != 200 {
		e.t.Fatalf("GET %s: %d %s", path, code, b)
	}
	var l listResp
	if err := json.Unmarshal(b, &l); err != nil {
		e.t.Fatal(err)
	}
	return l
}

func names(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		m := it["metadata"].(map[string]any)
		n := m["name"].(string)
		if ns, _ := m["namespace"].(string); ns != "" {
			n = ns + "/" + n
		}
		out = append(out, n)
	}
	return out
}

type status struct {
	Kind    string         `json:"kind"`
	Status  string         `json:"status"`
	Reason  string         `json:"reason"`
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

func parseStatus(t *testing.T, b []byte) status {
	t.Helper()
	var s status
	if err := json.Unmarshal(b, &s); err != nil || s.Kind != "Status" {
		t.Fatalf("not a Status: %s", b)
	}
	return s
}

type event struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

func (ev event) meta() (name, rv string, ann map[string]any) {
	var o struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name            string         `json:"name"`
			ResourceVersion string         `json:"resourceVersion"`
			Annotations     map[string]any `json:"annotations"`
		} `json:"metadata"`
	}
	json.Unmarshal(ev.Object, &o)
	return o.Metadata.Name, o.Metadata.ResourceVersion, o.Metadata.Annotations
}

// stream decodes a watch response incrementally, as the agent must.
type stream struct {
	resp *http.Response
	ch   chan event
	err  error // set before ch is closed: nil/io.EOF for a clean end
}

func (e *env) watch(path string) *stream {
	e.t.Helper()
	resp := e.req(path, e.token)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e.t.Fatalf("watch %s: %d %s", path, resp.StatusCode, b)
	}
	st := &stream{resp: resp, ch: make(chan event, 1000)}
	go func() {
		dec := json.NewDecoder(resp.Body)
		for {
			var ev event
			if err := dec.Decode(&ev); err != nil {
				st.err = err
				close(st.ch)
				return
			}
			st.ch <- ev
		}
	}()
	e.t.Cleanup(func() { resp.Body.Close() })
	return st
}

func (st *stream) next(t *testing.T, within time.Duration) event {
	t.Helper()
	select {
	case ev, ok := <-st.ch:
		if !ok {
			t.Fatalf("watch ended: %v", st.err)
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no event within %v", within)
	}
	return event{}
}

// nextNonBookmark skips BOOKMARKs.
func (st *stream) nextNonBookmark(t *testing.T, within time.Duration) event {
	t.Helper()
	for {
		ev := st.next(t, within)
		if ev.Type != "BOOKMARK" {
			return ev
		}
	}
}

// end waits for the stream to finish and returns how it ended.
func (st *stream) end(within time.Duration) (error, bool) {
	deadline := time.After(within)
	for {
		select {
		case _, ok := <-st.ch:
			if !ok {
				return st.err, true
			}
		case <-deadline:
			return nil, false
		}
	}
}

func seedPods(e *env, n int) {
	var objs []map[string]any
	for i := 0; i < n; i++ {
		objs = append(objs, pod("default", fmt.Sprintf("p%d", i), "node1", map[string]string{"i": strconv.Itoa(i)}))
	}
	e.put(objs...)
}

// T24: limit=2 over 5 objects follows continue to the end, every page at
// the first page's RV even when objects change in between.
func TestPagination(t *testing.T) {
	e := newEnv(t)
	seedPods(e, 5)
	first := e.list("/api/v1/namespaces/default/pods?limit=2")
	if first.Kind != "PodList" || len(first.Items) != 2 || first.Metadata.Continue == "" {
		t.Fatalf("first page: %+v", first)
	}
	if first.Metadata.Remaining == nil || *first.Metadata.Remaining != 3 {
		t.Fatalf("remainingItemCount: %v", first.Metadata.Remaining)
	}
	if _, ok := first.Items[0]["kind"]; ok {
		t.Fatal("list items must not carry kind (built-in lists omit it)")
	}
	// A change between pages must not show up in later pages.
	e.put(pod("default", "p9", "node1", nil))
	got := names(first.Items)
	cont := first.Metadata.Continue
	pages := 1
	for cont != "" {
		p := e.list("/api/v1/namespaces/default/pods?limit=2&continue=" + url.QueryEscape(cont))
		if p.Metadata.ResourceVersion != first.Metadata.ResourceVersion {
			t.Fatalf("page RV %s != first page RV %s", p.Metadata.ResourceVersion, first.Metadata.ResourceVersion)
		}
		got = append(got, names(p.Items)...)
		cont = p.Metadata.Continue
		pages++
	}
	want := "default/p0 default/p1 default/p2 default/p3 default/p4"
	if strings.Join(got, " ") != want || pages != 3 {
		t.Fatalf("got %v in %d pages, want %s in 3", got, pages, want)
	}
	// A fresh list sees the new pod; resourceVersion=0 ignores limit.
	if l := e.list("/api/v1/pods"); len(l.Items) != 6 {
		t.Fatalf("fresh list: %v", names(l.Items))
	}
	if l := e.list("/api/v1/pods?limit=2&resourceVersion=0"); len(l.Items) != 6 || l.Metadata.Continue != "" {
		t.Fatalf("rv=0 list: %v", names(l.Items))
	}
}

// T24: an expired continue token is a 410 Expired.
func TestContinueExpired(t *testing.T) {
	e := newEnv(t)
	seedPods(e, 5)
	expect410 := func(cont string) {
		t.Helper()
		code, b := e.get("/api/v1/pods?limit=2&continue=" + url.QueryEscape(cont))
		if code != 410 {
			t.Fatalf("want 410, got %d %s", code, b)
		}
		if st := parseStatus(t, b); st.Reason != "Expired" || st.Code != 410 {
			t.Fatalf("status: %+v", st)
		}
	}
	// Control-endpoint expiry.
	p := e.list("/api/v1/pods?limit=2")
	e.ctl("POST", "/continue/expire", nil)
	expect410(p.Metadata.Continue)
	// TTL expiry.
	e.ctl("POST", "/config", `{"continueTTL":"50ms"}`)
	p = e.list("/api/v1/pods?limit=2")
	time.Sleep(100 * time.Millisecond)
	expect410(p.Metadata.Continue)
	// Compaction past the token's RV.
	e.ctl("POST", "/config", `{"continueTTL":"5m"}`)
	p = e.list("/api/v1/pods?limit=2")
	e.put(pod("default", "x", "node1", nil))
	e.ctl("POST", "/compact", nil)
	expect410(p.Metadata.Continue)
	// Restarting from scratch works.
	if l := e.list("/api/v1/pods?limit=10"); len(l.Items) != 6 {
		t.Fatalf("relist: %v", names(l.Items))
	}
	// Garbage token: 400; RV with continue: 400.
	if code, _ := e.get("/api/v1/pods?continue=garbage!"); code != 400 {
		t.Fatalf("bad token: %d", code)
	}
	p = e.list("/api/v1/pods?limit=2")
	if code, _ := e.get("/api/v1/pods?limit=2&resourceVersion=1&continue=" + url.QueryEscape(p.Metadata.Continue)); code != 400 {
		t.Fatalf("rv+continue: %d", code)
	}
}

// LIST resourceVersion semantics (SPECS C.3, C.5).
func TestListResourceVersion(t *testing.T) {
	e := newEnv(t)
	seedPods(e, 3)
	l := e.list("/api/v1/pods")
	old := l.Metadata.ResourceVersion
	e.put(pod("default", "p0", "node2", nil))
	// Exact read of an older RV shows the old state.
	l2 := e.list("/api/v1/pods?resourceVersion=" + old + "&resourceVersionMatch=Exact")
	if l2.Metadata.ResourceVersion != old || l2.Items[0]["spec"].(map[string]any)["nodeName"] != "node1" {
		t.Fatalf("exact read: %+v", l2)
	}
	// NotOlderThan serves the newest state.
	l3 := e.list("/api/v1/pods?resourceVersion=" + old + "&resourceVersionMatch=NotOlderThan")
	if l3.Metadata.ResourceVersion == old {
		t.Fatal("NotOlderThan served the old RV")
	}
	// Too large: 504 with the ResourceVersionTooLarge cause.
	code, b := e.get("/api/v1/pods?resourceVersion=99999&resourceVersionMatch=NotOlderThan")
	if st := parseStatus(t, b); code != 504 || st.Reason != "Timeout" ||
		!strings.Contains(string(b), "ResourceVersionTooLarge") {
		t.Fatalf("too large: %d %s", code, b)
	}
	// Paging from a compacted RV: 410.
	e.ctl("POST", "/compact", nil)
	code, b = e.get("/api/v1/pods?limit=1&resourceVersion=" + old)
	if st := parseStatus(t, b); code != 410 || st.Reason != "Expired" {
		t.Fatalf("compacted exact list: %d %s", code, b)
	}
	// resourceVersionMatch without resourceVersion is invalid.
	if code, _ := e.get("/api/v1/pods?resourceVersionMatch=NotOlderThan"); code != 422 {
		t.Fatalf("match without rv: %d", code)
	}
}

// Watch from a list RV gets exactly the later changes, DELETED carrying
// the last state at the deletion's RV.
func TestWatchFromListRV(t *testing.T) {
	e := newEnv(t)
	seedPods(e, 2)
	l := e.list("/api/v1/pods")
	w := e.watch("/api/v1/pods?watch=1&resourceVersion=" + l.Metadata.ResourceVersion)
	rv1 := e.put(pod("default", "new", "node1", nil))
	rv2 := e.put(pod("default", "new", "node1", map[string]string{"a": "b"}))
	var del struct {
		ResourceVersion string `json:"resourceVersion"`
	}
	json.Unmarshal(e.ctl("DELETE", "/objects?resource=pods&namespace=default&name=p0", nil), &del)
	want := []struct{ typ, name, rv string }{
		{"ADDED", "new", rv1}, {"MODIFIED", "new", rv2}, {"DELETED", "p0", del.ResourceVersion}}
	for _, wt := range want {
		ev := w.next(t, 5*time.Second)
		n, rv, _ := ev.meta()
		if ev.Type != wt.typ || n != wt.name || rv != wt.rv {
			t.Fatalf("got %s %s@%s, want %s %s@%s", ev.Type, n, rv, wt.typ, wt.name, wt.rv)
		}
		if !bytes.HasPrefix(ev.Object, []byte(`{"kind":"Pod","apiVersion":"v1"`)) {
			t.Fatalf("watch objects carry kind/apiVersion: %s", ev.Object)
		}
	}
	// A later watch from the same RV replays the same history (what a
	// re-watch after a timeout or dropped stream relies on, T26).
	w1 := e.watch("/api/v1/pods?watch=1&resourceVersion=" + l.Metadata.ResourceVersion)
	for _, wt := range want {
		ev := w1.next(t, 5*time.Second)
		if n, rv, _ := ev.meta(); ev.Type != wt.typ || n != wt.name || rv != wt.rv {
			t.Fatalf("replay: got %s %s@%s, want %s %s@%s", ev.Type, n, rv, wt.typ, wt.name, wt.rv)
		}
	}
	// Unset RV: synthetic ADDED for the current state first.
	w2 := e.watch("/api/v1/pods?watch=true")
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		ev := w2.next(t, 5*time.Second)
		n, _, _ := ev.meta()
		if ev.Type != "ADDED" {
			t.Fatalf("initial %s", ev.Type)
		}
		seen[n] = true
	}
	if !seen["p1"] || !seen["new"] {
		t.Fatalf("initial ADDED: %v", seen)
	}
	// A future RV waits: only changes after it are sent.
	cur, _ := e.s.store.current()
	w3 := e.watch("/api/v1/pods?watch=1&resourceVersion=" + rvString(cur+2))
	e.put(pod("default", "f1", "n", nil))
	e.put(pod("default", "f2", "n", nil))
	e.put(pod("default", "f3", "n", nil))
	if n, _, _ := w3.next(t, 5*time.Second).meta(); n != "f3" {
		t.Fatalf("future RV watch got %s first", n)
	}
}

// Selector watches: leaving the selection is DELETED, entering ADDED.
func TestWatchSelectorTransitions(t *testing.T) {
	e := newEnv(t)
	rv := e.put(pod("default", "a", "node1", map[string]string{"app": "web"}))
	w := e.watch("/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=" + rv)
	rv2 := e.put(pod("default", "a", "node1", map[string]string{"app": "db"}))
	ev := w.next(t, 5*time.Second)
	n, gotRV, _ := ev.meta()
	if ev.Type != "DELETED" || n != "a" || gotRV != rv2 {
		t.Fatalf("leave: %s %s@%s", ev.Type, n, gotRV)
	}
	e.put(pod("default", "a", "node1", map[string]string{"app": "web"}))
	if ev := w.next(t, 5*time.Second); ev.Type != "ADDED" {
		t.Fatalf("enter: %s", ev.Type)
	}
	e.put(pod("other", "b", "node1", map[string]string{"app": "web"})) // other namespace: not seen
	e.put(pod("default", "a", "node2", map[string]string{"app": "web"}))
	if ev := w.next(t, 5*time.Second); ev.Type != "MODIFIED" {
		t.Fatalf("stay: %s", ev.Type)
	}
}

// readChunks issues a watch over a raw TLS connection and returns the
// HTTP/1.1 chunks exactly as framed on the wire.
func readChunks(t *testing.T, e *env, path string) [][]byte {
	t.Helper()
	u, _ := url.Parse(e.s.apiURL)
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: e.pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path, u.Host, e.token)
	br := bufio.NewReader(conn)
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("status line %q", line)
	}
	chunked := false
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if h == "\r\n" {
			break
		}
		if strings.EqualFold(strings.TrimSpace(h), "Transfer-Encoding: chunked") {
			chunked = true
		}
	}
	if !chunked {
		t.Fatal("watch response is not chunked")
	}
	var chunks [][]byte
	for {
		sz, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("chunk size: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q", sz)
		}
		if n == 0 {
			br.ReadString('\n')
			return chunks
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, b[:n])
	}
}

// decodeChunks feeds chunks one at a time through a pipe into a streaming
// decoder, the way the agent's incremental parser sees them.
func decodeChunks(t *testing.T, chunks [][]byte) []string {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		for _, c := range chunks {
			pw.Write(c)
		}
		pw.Close()
	}()
	dec := json.NewDecoder(pr)
	var out []string
	for {
		var ev event
		if err := dec.Decode(&ev); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		n, rv, _ := ev.meta()
		out = append(out, ev.Type+" "+n+"@"+rv)
	}
}

// T25: split and packed (and mixed) chunking carry the same events as
// natural chunking, with the promised boundaries.
func TestChunking(t *testing.T) {
	var ref []string
	for _, mode := range []string{"natural", "split", "packed", "mixed"} {
		e := newEnv(t, "-chunking", mode)
		seedPods(e, 6)
		go func() {
			// Changes arriving while streaming, in one batch.
			time.Sleep(300 * time.Millisecond)
			e.put(pod("default", "live1", "n", nil), pod("default", "live2", "n", nil),
				pod("default", "live3", "n", nil))
		}()
		chunks := readChunks(t, e, "/api/v1/pods?watch=1&timeoutSeconds=2")
		evs := decodeChunks(t, chunks)
		if len(evs) != 9 {
			t.Fatalf("%s: %d events: %v", mode, len(evs), evs)
		}
		if ref == nil {
			ref = evs
		} else if strings.Join(evs, ",") != strings.Join(ref, ",") {
			t.Fatalf("%s events differ:\n%v\n%v", mode, evs, ref)
		}
		multi, partial, lone := 0, 0, 0
		for _, c := range chunks {
			if bytes.Count(c, []byte("\n")) > 1 {
				multi++
			}
			if c[len(c)-1] != '\n' {
				partial++
			}
			if string(c) == "\n" {
				lone++
			}
		}
		t.Logf("%s: %d chunks, %d with several events, %d partial", mode, len(chunks), multi, partial)
		switch mode {
		case "natural":
			if len(chunks) != 9 || multi != 0 || partial != 0 {
				t.Fatalf("natural: one chunk per event expected")
			}
		case "split":
			if len(chunks) != 36 || lone != 9 || multi != 0 {
				t.Fatalf("split: every event over 4 chunks expected")
			}
		case "packed":
			if multi < 2 || partial != 0 {
				t.Fatalf("packed: initial and live batches should each share a chunk")
			}
		case "mixed":
			if partial == 0 || len(chunks) < 9 {
				t.Fatalf("mixed: boundaries should fall inside events")
			}
		}
	}
}

// T27: a watch from a compacted RV fails with 410, as an HTTP status or
// as an ERROR event on a 200 stream.
func TestGone(t *testing.T) {
	e := newEnv(t)
	old := e.put(pod("default", "a", "n", nil))
	e.put(pod("default", "b", "n", nil))
	e.ctl("POST", "/compact", nil)

	e.ctl("POST", "/config", `{"gone":"status"}`)
	code, b := e.get("/api/v1/pods?watch=1&resourceVersion=" + old)
	if st := parseStatus(t, b); code != 410 || st.Reason != "Expired" || st.Code != 410 {
		t.Fatalf("status mode: %d %s", code, b)
	}

	e.ctl("POST", "/config", `{"gone":"event"}`)
	w := e.watch("/api/v1/pods?watch=1&resourceVersion=" + old)
	ev := w.next(t, 5*time.Second)
	if ev.Type != "ERROR" {
		t.Fatalf("event mode: %s", ev.Type)
	}
	if st := parseStatus(t, ev.Object); st.Code != 410 || st.Reason != "Expired" ||
		!strings.HasPrefix(st.Message, "too old resource version: ") {
		t.Fatalf("ERROR object: %s", ev.Object)
	}
	if err, ok := w.end(5 * time.Second); !ok || err != io.EOF {
		t.Fatalf("stream after ERROR: %v %v", err, ok)
	}
	// The current RV is still watchable after compaction.
	cur, _ := e.s.store.current()
	w2 := e.watch("/api/v1/pods?watch=1&resourceVersion=" + rvString(cur))
	e.put(pod("default", "c", "n", nil))
	if ev := w2.next(t, 5*time.Second); ev.Type != "ADDED" {
		t.Fatalf("watch from compaction point: %s", ev.Type)
	}
	// Mid-stream ERROR (etcd compaction of a live watch).
	e.ctl("POST", "/watches/close?mode=error&resource=pods", nil)
	if ev := w2.next(t, 5*time.Second); ev.Type != "ERROR" {
		t.Fatalf("mid-stream: %s", ev.Type)
	}
}

func TestBookmarks(t *testing.T) {
	e := newEnv(t, "-bookmark-interval", "100ms")
	rv := e.put(pod("default", "a", "n", nil))
	w := e.watch("/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv)
	ev := w.next(t, 3*time.Second)
	if ev.Type != "BOOKMARK" {
		t.Fatalf("want BOOKMARK, got %s", ev.Type)
	}
	_, brv, _ := ev.meta()
	if brv != rv {
		t.Fatalf("bookmark RV %s, want %s", brv, rv)
	}
	var o map[string]any
	json.Unmarshal(ev.Object, &o)
	if len(o) != 3 || o["kind"] != "Pod" || len(o["metadata"].(map[string]any)) != 1 {
		t.Fatalf("bookmark object: %s", ev.Object)
	}
	// A bookmark after a change reports the newer RV.
	rv2 := e.put(pod("default", "b", "n", nil))
	if ev := w.nextNonBookmark(t, 3*time.Second); ev.Type != "ADDED" {
		t.Fatal(ev.Type)
	}
	ev = w.next(t, 3*time.Second)
	if _, brv, _ := ev.meta(); ev.Type != "BOOKMARK" || brv != rv2 {
		t.Fatalf("bookmark %s@%s, want @%s", ev.Type, brv, rv2)
	}
	// No bookmarks unless asked for.
	w2 := e.watch("/api/v1/pods?watch=1&resourceVersion=" + rv2)
	select {
	case ev := <-w2.ch:
		t.Fatalf("unrequested event %s", ev.Type)
	case <-time.After(400 * time.Millisecond):
	}
}

// sendInitialEvents (streaming list): ADDED for all, then the
// initial-events-end bookmark.
func TestSendInitialEvents(t *testing.T) {
	e := newEnv(t)
	seedPods(e, 3)
	w := e.watch("/api/v1/pods?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
	for i := 0; i < 3; i++ {
		if ev := w.next(t, 3*time.Second); ev.Type != "ADDED" {
			t.Fatal(ev.Type)
		}
	}
	ev := w.next(t, 3*time.Second)
	if _, _, ann := ev.meta(); ev.Type != "BOOKMARK" || ann["k8s.io/initial-events-end"] != "true" {
		t.Fatalf("end marker: %s %s", ev.Type, ev.Object)
	}
	if code, _ := e.get("/api/v1/pods?watch=1&sendInitialEvents=true"); code != 422 {
		t.Fatalf("sendInitialEvents without bookmarks: %d", code)
	}
}

// T26: the server ends the stream cleanly at timeoutSeconds.
func TestWatchTimeout(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	w := e.watch("/api/v1/pods?watch=1&timeoutSeconds=1")
	err, ok := w.end(5 * time.Second)
	d := time.Since(start)
	if !ok || err != io.EOF || d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("end after %v: %v %v", d, err, ok)
	}
	var reqs []logEntry
	json.Unmarshal(e.ctl("GET", "/requests?resource=pods&verb=watch", nil), &reqs)
	if len(reqs) != 1 || reqs[0].Ended != "timeout" || reqs[0].Params.Get("timeoutSeconds") != "1" {
		t.Fatalf("request log: %+v", reqs)
	}
}

// Force-closing watches: clean end vs dropped connection.
func TestForceClose(t *testing.T) {
	e := newEnv(t)
	w := e.watch("/api/v1/pods?watch=1")
	w2 := e.watch("/api/v1/nodes?watch=1")
	e.ctl("GET", "/wait?resource=pods&verb=open&count=1", nil)
	e.ctl("POST", "/watches/close?mode=clean&resource=pods", nil)
	if err, ok := w.end(3 * time.Second); !ok || err != io.EOF {
		t.Fatalf("clean: %v %v", err, ok)
	}
	e.ctl("POST", "/watches/close?mode=abort", nil)
	if err, ok := w2.end(3 * time.Second); !ok || err == io.EOF || err == nil {
		t.Fatalf("abort should be an unclean end: %v %v", err, ok)
	}
}

// T22: the token file is re-read per request.
func TestTokenRotation(t *testing.T) {
	e := newEnv(t)
	if code, _ := e.get("/api/v1/nodes"); code != 200 {
		t.Fatal(code)
	}
	resp := e.req("/api/v1/nodes", "")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if st := parseStatus(t, b); resp.StatusCode != 401 || st.Reason != "Unauthorized" {
		t.Fatalf("no token: %d %s", resp.StatusCode, b)
	}
	tmp := e.tokFile + ".new"
	os.WriteFile(tmp, []byte("tok-2\n"), 0600)
	os.Rename(tmp, e.tokFile)
	if code, _ := e.get("/api/v1/nodes"); code != 401 {
		t.Fatalf("old token after rotation: %d", code)
	}
	e.token = "tok-2"
	if code, _ := e.get("/api/v1/nodes"); code != 200 {
		t.Fatalf("new token: %d", code)
	}
}

func TestClientCert(t *testing.T) {
	e := newEnv(t, "-client-ca")
	cert, err := tls.LoadX509KeyPair(filepath.Join(e.dir, "state", "client.crt"), filepath.Join(e.dir, "state", "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool,
		Certificates: []tls.Certificate{cert}}}}
	resp, err := c.Get(e.s.apiURL + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("client cert: %d", resp.StatusCode)
	}
	var kc map[string]any
	b, _ := os.ReadFile(filepath.Join(e.dir, "state", "kubeconfig"))
	if err := json.Unmarshal(b, &kc); err != nil || kc["current-context"] != "fake" {
		t.Fatalf("kubeconfig: %v %s", err, b)
	}
}

// T23: spec.nodeName selects node-local pods; cluster-wide list still
// sees every pod.
func TestFieldSelector(t *testing.T) {
	e := newEnv(t)
	e.put(pod("a", "p1", "node1", nil), pod("a", "p2", "node2", nil), pod("b", "p3", "node1", nil))
	l := e.list("/api/v1/pods?fieldSelector=" + url.QueryEscape("spec.nodeName=node1"))
	if strings.Join(names(l.Items), " ") != "a/p1 b/p3" {
		t.Fatalf("node1: %v", names(l.Items))
	}
	l = e.list("/api/v1/pods?fieldSelector=" + url.QueryEscape("spec.nodeName!=node1,metadata.namespace==a"))
	if strings.Join(names(l.Items), " ") != "a/p2" {
		t.Fatalf("!=: %v", names(l.Items))
	}
	if l := e.list("/api/v1/pods"); len(l.Items) != 3 {
		t.Fatalf("all: %v", names(l.Items))
	}
	code, b := e.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx")
	if code != 400 || !strings.Contains(string(b), "field label not supported") {
		t.Fatalf("bad field: %d %s", code, b)
	}
	w := e.watch("/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dnode1")
	for i := 0; i < 2; i++ {
		if ev := w.next(t, 3*time.Second); ev.Type != "ADDED" {
			t.Fatal(ev.Type)
		}
	}
	e.put(pod("a", "p4", "node2", nil), pod("a", "p5", "node1", nil))
	if ev := w.next(t, 3*time.Second); ev.Type != "ADDED" {
		t.Fatal(ev.Type)
	} else if n, _, _ := ev.meta(); n != "p5" {
		t.Fatalf("got %s", n)
	}
}

func TestLabelSelectorParse(t *testing.T) {
	lbl := map[string]string{"app": "web", "tier": "front", "n": "5", "service.kubernetes.io/headless": ""}
	cases := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"app=web", true},
		{"app==web", true},
		{"app!=web", false},
		{"app!=db", true},
		{"missing!=x", true},
		{"app in (db, web)", true},
		{"app notin (db,web)", false},
		{"missing notin (x)", true},
		{"app,tier", true},
		{"!app", false},
		{"!missing", true},
		{"!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless", false},
		{"!service.kubernetes.io/service-proxy-name", true},
		{"app=web,tier in (back)", false},
		{"n>4", true},
		{"n<5", false},
		{"service.kubernetes.io/headless=", true},
	}
	for _, c := range cases {
		s, err := parseLabelSelector(c.sel)
		if err != nil {
			t.Fatalf("%q: %v", c.sel, err)
		}
		if got := s.matches(lbl); got != c.want {
			t.Errorf("%q: got %v want %v", c.sel, got, c.want)
		}
	}
	for _, bad := range []string{"app=", "a,", "=x", "app in x", "app in (a", "n>x", "a b", "-bad=x"} {
		if bad == "app=" {
			continue // empty value is valid
		}
		if _, err := parseLabelSelector(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

// T30's filter through the API, on services.
func TestLabelSelectorAPI(t *testing.T) {
	e := newEnv(t)
	svc := func(name string, labels map[string]string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": name, "namespace": "default", "labels": labels}}
	}
	e.put(svc("plain", nil), svc("headless", map[string]string{"service.kubernetes.io/headless": ""}),
		svc("other", map[string]string{"service.kubernetes.io/service-proxy-name": "x"}))
	sel := url.QueryEscape("!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless")
	if l := e.list("/api/v1/services?labelSelector=" + sel); strings.Join(names(l.Items), " ") != "default/plain" {
		t.Fatalf("got %v", names(l.Items))
	}
	if code, _ := e.get("/api/v1/services?labelSelector=a%20in%20(x"); code != 400 {
		t.Fatalf("bad selector: %d", code)
	}
}

// Paths of SPECS C.2 and single-object GETs.
func TestPaths(t *testing.T) {
	e := newEnv(t)
	e.put(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}},
		map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": "node1"}},
		map[string]any{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
			"metadata": map[string]any{"name": "web-abc", "namespace": "shop"}, "addressType": "IPv4"},
		map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
			"metadata": map[string]any{"name": "deny", "namespace": "shop"}},
		map[string]any{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
			"metadata": map[string]any{"name": "anp"}})
	for path, want := range map[string]string{
		"/api/v1/namespaces": "shop", "/api/v1/nodes": "node1",
		"/apis/discovery.k8s.io/v1/endpointslices":                     "shop/web-abc",
		"/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices":     "shop/web-abc",
		"/apis/networking.k8s.io/v1/networkpolicies":                   "shop/deny",
		"/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies":   "shop/deny",
		"/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies": "anp",
	} {
		if l := e.list(path); strings.Join(names(l.Items), " ") != want {
			t.Errorf("%s: %v", path, names(l.Items))
		}
	}
	if l := e.list("/apis/networking.k8s.io/v1/namespaces/other/networkpolicies"); len(l.Items) != 0 {
		t.Error("namespace filter")
	}
	code, b := e.get("/api/v1/namespaces/shop")
	if code != 200 || !strings.Contains(string(b), `"kubernetes.io/metadata.name":"shop"`) {
		t.Fatalf("namespace GET: %d %s", code, b)
	}
	if code, _ := e.get("/api/v1/nodes/node1"); code != 200 {
		t.Fatal(code)
	}
	code, b = e.get("/api/v1/namespaces/shop/pods/nope")
	if st := parseStatus(t, b); code != 404 || st.Reason != "NotFound" {
		t.Fatalf("404: %d %s", code, b)
	}
	if code, _ := e.get("/api/v1/widgets"); code != 404 {
		t.Fatal(code)
	}
	e.ctl("POST", "/config", `{"disabled":["adminnetworkpolicies"]}`)
	if code, _ := e.get("/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies"); code != 404 {
		t.Fatalf("disabled CRD: %d", code)
	}
}

// Injected failures and the counters tests assert on.
func TestFaultsAndStats(t *testing.T) {
	e := newEnv(t)
	e.ctl("POST", "/faults", `{"count":2,"code":429,"retryAfter":3,"resource":"pods","verb":"list"}`)
	for i := 0; i < 2; i++ {
		resp := e.req("/api/v1/pods", e.token)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if st := parseStatus(t, b); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || st.Reason != "TooManyRequests" {
			t.Fatalf("fault %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if code, _ := e.get("/api/v1/nodes"); code != 200 {
		t.Fatal("fault leaked to another resource")
	}
	if code, _ := e.get("/api/v1/pods"); code != 200 {
		t.Fatal("fault outlived its count")
	}
	// Two drops: net/http (like libcurl) transparently retries a request
	// that failed on a reused keep-alive connection once.
	e.ctl("POST", "/faults", `{"count":2,"code":0,"resource":"nodes"}`)
	r, _ := http.NewRequest("GET", e.s.apiURL+"/api/v1/nodes", nil)
	r.Header.Set("Authorization", "Bearer "+e.token)
	if resp, err := e.client.Do(r); err == nil {
		resp.Body.Close()
		t.Fatal("dropped connection expected")
	}
	var st struct {
		Counts map[string]map[string]int `json:"counts"`
	}
	json.Unmarshal(e.ctl("GET", "/stats", nil), &st)
	if st.Counts["pods"]["list"] != 3 || st.Counts["nodes"]["list"] < 2 {
		t.Fatalf("counts: %v", st.Counts)
	}
	e.ctl("POST", "/stats/reset", nil)
	st.Counts = nil
	json.Unmarshal(e.ctl("GET", "/stats", nil), &st)
	if len(st.Counts) != 0 {
		t.Fatalf("after reset: %v", st.Counts)
	}
}

// PUT replaces the set: unchanged objects make no event, missing ones are
// deleted (T28's "deleted while the watch was down").
func TestReplaceSet(t *testing.T) {
	e := newEnv(t)
	rv := e.put(pod("default", "a", "n", nil), pod("default", "b", "n", nil))
	w := e.watch("/api/v1/pods?watch=1&resourceVersion=" + rv)
	e.ctl("PUT", "/objects?resource=pods", []any{pod("default", "a", "n", nil), pod("default", "c", "n", nil)})
	got := []string{}
	for i := 0; i < 2; i++ {
		ev := w.next(t, 3*time.Second)
		n, _, _ := ev.meta()
		got = append(got, ev.Type+" "+n)
	}
	if strings.Join(got, ",") != "ADDED c,DELETED b" {
		t.Fatalf("got %v", got)
	}
}

func TestShutdownEndsWatches(t *testing.T) {
	e := newEnv(t)
	w := e.watch("/api/v1/pods?watch=1")
	done := make(chan struct{})
	go func() { e.s.shutdown(); close(done) }()
	if err, ok := w.end(3 * time.Second); !ok || !(err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) {
		t.Fatalf("watch on shutdown: %v %v", err, ok)
	}
	select {
	case <-done:
	case <-time.After(6 * time.Second):
		t.Fatal("shutdown hung")
	}
}

// Many watches and concurrent writers: every watch sees every change
// exactly once, in increasing RV order.
func TestConcurrentWatches(t *testing.T) {
	e := newEnv(t, "-chunking", "mixed")
	rv := e.put(pod("default", "seed", "n", nil))
	const watches, writers, perWriter = 20, 5, 20
	var ws []*stream
	for i := 0; i < watches; i++ {
		ws = append(ws, e.watch("/api/v1/pods?watch=1&resourceVersion="+rv))
	}
	errc := make(chan error, writers)
	for g := 0; g < writers; g++ {
		go func(g int) {
			for i := 0; i < perWriter; i++ {
				b, _ := json.Marshal(pod("default", fmt.Sprintf("w%d-%d", g, i), "n", nil))
				resp, err := http.Post(e.s.controlURL+"/objects", "application/json", bytes.NewReader(b))
				if err != nil {
					errc <- err
					return
				}
				resp.Body.Close()
			}
			errc <- nil
		}(g)
	}
	for g := 0; g < writers; g++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range ws {
		last := uint64(0)
		seen := map[string]bool{}
		for len(seen) < writers*perWriter {
			ev := w.next(t, 10*time.Second)
			n, rvs, _ := ev.meta()
			r, _ := strconv.ParseUint(rvs, 10, 64)
			if ev.Type != "ADDED" || seen[n] || r <= last {
				t.Fatalf("watch %d: %s %s@%s after @%d", i, ev.Type, n, rvs, last)
			}
			seen[n] = true
			last = r
		}
	}
}
