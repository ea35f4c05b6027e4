// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The control interface is plain HTTP on its own loopback port: tests
// drive it with curl or net/http without TLS or tokens, and nothing on it
// can be mistaken for Kubernetes API traffic in the request counters.
// README.md documents every endpoint.

func ctlJSON(w http.ResponseWriter, code int, v any) {
	// No HTML escaping: shell tests grep query strings containing '&'.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		code = 500
		b.Reset()
		fmt.Fprintf(&b, "{\"error\":%q}\n", err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func ctlError(w http.ResponseWriter, code int, format string, a ...any) {
	ctlJSON(w, code, map[string]string{"error": fmt.Sprintf(format, a...)})
}

// decodeItems accepts one object, a JSON array of objects, or a List
// ({"items":[...]}, e.g. a PodList copied from a real cluster). For an
// XList whose items lack kind, the resource comes from the list's kind.
func decodeItems(body []byte, res *resType) ([]op, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("bad JSON: %v", err)
	}
	var raw []any
	switch t := v.(type) {
	case []any:
		raw = t
	case map[string]any:
		kind, _ := t["kind"].(string)
		if items, ok := t["items"].([]any); ok && (kind == "" || strings.HasSuffix(kind, "List")) {
			raw = items
			if kind != "List" && strings.HasSuffix(kind, "List") && res == nil {
				av, _ := t["apiVersion"].(string)
				res = resourceByKind(av, strings.TrimSuffix(kind, "List"))
			}
		} else {
			raw = []any{t}
		}
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("want an object, an array or a List")
	}
	ops := make([]op, 0, len(raw))
	for i, x := range raw {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d is not an object", i)
		}
		o, err := normalize(m, res)
		if err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		ops = append(ops, o)
	}
	return ops, nil
}

func changesJSON(cs []*change, rv uint64) map[string]any {
	out := []any{}
	for _, c := range cs {
		out = append(out, map[string]any{"type": c.typ, "resource": c.res.Name,
			"namespace": c.key.ns, "name": c.key.name, "resourceVersion": rvString(c.rv)})
	}
	return map[string]any{"resourceVersion": rvString(rv), "changes": out}
}

// resParam reads ?resource=; "" means all resources.
func resParam(r *http.Request) (*resType, error) {
	n := r.URL.Query().Get("resource")
	if n == "" {
		return nil, nil
	}
	res := resourceByName(n)
	if res == nil {
		return nil, fmt.Errorf("unknown resource %q", n)
	}
	return res, nil
}

func (s *server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/status", s.ctlStatus)
	mux.HandleFunc("/config", s.ctlConfig)
	mux.HandleFunc("/objects", s.ctlObjects)
	mux.HandleFunc("/compact", s.ctlCompact)
	mux.HandleFunc("/continue/expire", s.ctlExpire)
	mux.HandleFunc("/watches/close", s.ctlClose)
	mux.HandleFunc("/watches/bookmark", s.ctlBookmark)
	mux.HandleFunc("/faults", s.ctlFaults)
	mux.HandleFunc("/stats", s.ctlStats)
	mux.HandleFunc("/stats/reset", s.ctlReset)
	mux.HandleFunc("/requests", s.ctlRequests)
	mux.HandleFunc("/wait", s.ctlWait)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.verbose {
			log.Printf("control %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *server) ctlStatus(w http.ResponseWriter, r *http.Request) {
	rv, comp := s.store.current()
	counts, open, seq := s.stats.snapshot()
	ctlJSON(w, 200, map[string]any{"resourceVersion": rvString(rv), "compactedRV": rvString(comp),
		"counts": counts, "openWatches": open, "requests": seq, "config": s.config(),
		"api": s.apiURL, "control": s.controlURL})
}

func (s *server) ctlConfig(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		// Fields present in the body override; the rest stay.
		c := s.config()
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &c); err != nil {
			ctlError(w, 400, "config: %v", err)
			return
		}
		if err := c.validate(); err != nil {
			ctlError(w, 400, "config: %v", err)
			return
		}
		s.mu.Lock()
		s.cfg = c
		s.mu.Unlock()
	default:
		ctlError(w, 405, "GET or POST")
		return
	}
	ctlJSON(w, 200, s.config())
}

func (s *server) ctlObjects(w http.ResponseWriter, r *http.Request) {
	res, err := resParam(r)
	if err != nil {
		ctlError(w, 400, "%v", err)
		return
	}
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		st := s.store
		st.mu.Lock()
		rv := st.rv
		var items []json.RawMessage
		for _, rt := range resources {
			if res != nil && rt != res {
				continue
			}
			for _, o := range sortedObjects(st.objs[rt]) {
				if (q.Get("namespace") == "" || o.key.ns == q.Get("namespace")) &&
					(q.Get("name") == "" || o.key.name == q.Get("name")) {
					items = append(items, o.typed)
				}
			}
		}
		st.mu.Unlock()
		if items == nil {
			items = []json.RawMessage{}
		}
		ctlJSON(w, 200, map[string]any{"resourceVersion": rvString(rv), "items": items})
	case http.MethodPost, http.MethodPut:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			ctlError(w, 400, "%v", err)
			return
		}
		ops, err := decodeItems(body, res)
		if err != nil {
			ctlError(w, 400, "%v", err)
			return
		}
		if r.Method == http.MethodPut {
			ops = s.replaceOps(ops, res)
		}
		cs := s.store.apply(ops)
		rv, _ := s.store.current()
		ctlJSON(w, 200, changesJSON(cs, rv))
	case http.MethodDelete:
		st := s.store
		st.mu.Lock()
		var ops []op
		for _, rt := range resources {
			if res != nil && rt != res {
				continue
			}
			for _, o := range sortedObjects(st.objs[rt]) {
				if (q.Get("namespace") == "" || o.key.ns == q.Get("namespace")) &&
					(q.Get("name") == "" || o.key.name == q.Get("name")) {
					ops = append(ops, op{res: rt, key: o.key})
				}
			}
		}
		st.mu.Unlock()
		if res == nil && q.Get("name") == "" && q.Get("namespace") == "" && q.Get("all") != "1" {
			ctlError(w, 400, "refusing to delete everything without all=1")
			return
		}
		cs := s.store.apply(ops)
		rv, _ := s.store.current()
		ctlJSON(w, 200, changesJSON(cs, rv))
	default:
		ctlError(w, 405, "GET, POST, PUT or DELETE")
	}
}

// replaceOps turns a desired set into upserts (skipping unchanged objects,
// as a no-op update makes no event) plus deletes of everything else of the
// resource (or of every resource when res is nil).
func (s *server) replaceOps(want []op, res *resType) []op {
	keep := map[*resType]map[objKey]bool{}
	for i := range want {
		want[i].skipSame = true
		if keep[want[i].res] == nil {
			keep[want[i].res] = map[objKey]bool{}
		}
		keep[want[i].res][want[i].key] = true
	}
	st := s.store
	st.mu.Lock()
	var dels []op
	for _, rt := range resources {
		if res != nil && rt != res {
			continue
		}
		for _, o := range sortedObjects(st.objs[rt]) {
			if !keep[rt][o.key] {
				dels = append(dels, op{res: rt, key: o.key})
			}
		}
	}
	st.mu.Unlock()
	return append(want, dels...)
}

func (s *server) ctlCompact(w http.ResponseWriter, r *http.Request) {
	var rv uint64
	if v := r.URL.Query().Get("rv"); v != "" {
		var err error
		if rv, err = strconv.ParseUint(v, 10, 64); err != nil {
			ctlError(w, 400, "rv: %v", err)
			return
		}
	}
	c := s.store.compact(rv)
	cur, _ := s.store.current()
	ctlJSON(w, 200, map[string]any{"compactedRV": rvString(c), "resourceVersion": rvString(cur)})
}

func (s *server) ctlExpire(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.contEpoch++
	e := s.contEpoch
	s.mu.Unlock()
	ctlJSON(w, 200, map[string]any{"epoch": e})
}

func (s *server) ctlClose(w http.ResponseWriter, r *http.Request) {
	res, err := resParam(r)
	if err != nil {
		ctlError(w, 400, "%v", err)
		return
	}
	mode := r.URL.Query().Get("mode")
	if mode == "" {
		mode = "clean"
	}
	if mode != "clean" && mode != "abort" && mode != "error" {
		ctlError(w, 400, "mode must be clean, abort or error")
		return
	}
	ctlJSON(w, 200, map[string]any{"closed": s.store.closeWatches(res, mode)})
}

func (s *server) ctlBookmark(w http.ResponseWriter, r *http.Request) {
	res, err := resParam(r)
	if err != nil {
		ctlError(w, 400, "%v", err)
		return
	}
	ctlJSON(w, 200, map[string]any{"sent": s.store.bookmarkAll(res)})
}

func (s *server) ctlFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		var list []*fault
		if err := json.Unmarshal(body, &list); err != nil {
			var one fault
			if err := json.Unmarshal(body, &one); err != nil {
				ctlError(w, 400, "fault: %v", err)
				return
			}
			list = []*fault{&one}
		}
		for _, f := range list {
			if f.Count <= 0 {
				f.Count = 1
			}
			if f.Resource != "" {
				if res := resourceByName(f.Resource); res != nil {
					f.Resource = res.Name
				} else {
					ctlError(w, 400, "unknown resource %q", f.Resource)
					return
				}
			}
			if f.Verb != "" && f.Verb != "list" && f.Verb != "watch" && f.Verb != "get" {
				ctlError(w, 400, "verb must be list, watch or get")
				return
			}
		}
		s.mu.Lock()
		s.faults = append(s.faults, list...)
		s.mu.Unlock()
	case http.MethodDelete:
		s.mu.Lock()
		s.faults = nil
		s.mu.Unlock()
	default:
		ctlError(w, 405, "GET, POST or DELETE")
		return
	}
	s.mu.Lock()
	out := []fault{}
	for _, f := range s.faults {
		out = append(out, *f)
	}
	s.mu.Unlock()
	ctlJSON(w, 200, out)
}

func (s *server) ctlStats(w http.ResponseWriter, r *http.Request) {
	counts, open, seq := s.stats.snapshot()
	ctlJSON(w, 200, map[string]any{"counts": counts, "openWatches": open, "requests": seq})
}

func (s *server) ctlReset(w http.ResponseWriter, r *http.Request) {
	s.stats.reset()
	s.ctlStats(w, r)
}

func (s *server) ctlRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since uint64
	if v := q.Get("since"); v != "" {
		since, _ = strconv.ParseUint(v, 10, 64)
	}
	res := q.Get("resource")
	if rt := resourceByName(res); rt != nil {
		res = rt.Name
	}
	ctlJSON(w, 200, s.stats.entries(res, q.Get("verb"), since))
}

// ctlWait blocks until counts[resource][verb] (or the open watch count
// for verb=open) reaches count, so shell tests need no polling loops.
func (s *server) ctlWait(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res := resourceByName(q.Get("resource"))
	if res == nil {
		ctlError(w, 400, "unknown resource %q", q.Get("resource"))
		return
	}
	verb := q.Get("verb")
	if verb != "list" && verb != "watch" && verb != "get" && verb != "open" {
		ctlError(w, 400, "verb must be list, watch, get or open")
		return
	}
	want, err := strconv.Atoi(q.Get("count"))
	if err != nil {
		ctlError(w, 400, "count: %v", err)
		return
	}
	timeout := 10 * time.Second
	if v := q.Get("timeout"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil {
			ctlError(w, 400, "timeout: %v", err)
			return
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		n := s.stats.count(res.Name, verb)
		if n >= want {
			ctlJSON(w, 200, map[string]any{"count": n})
			return
		}
		if time.Now().After(deadline) {
			ctlJSON(w, 408, map[string]any{"count": n, "error": "timeout"})
			return
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
}
