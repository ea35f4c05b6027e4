// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// reasonFor is the metav1.StatusReason the apiserver pairs with a code.
func reasonFor(code int) string {
	switch code {
	case 400:
		return "BadRequest"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "NotFound"
	case 405:
		return "MethodNotAllowed"
	case 409:
		return "Conflict"
	case 410:
		return "Expired"
	case 422:
		return "Invalid"
	case 429:
		return "TooManyRequests"
	case 503:
		return "ServiceUnavailable"
	case 504:
		return "Timeout"
	}
	if code >= 500 {
		return "InternalError"
	}
	return ""
}

// apiStatus is metav1.Status with the apiserver's field order.
type apiStatus struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   struct{}       `json:"metadata"`
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
	Details    map[string]any `json:"details,omitempty"`
	Code       int            `json:"code"`
}

func statusBody(code int, reason, msg string, details map[string]any) []byte {
	if reason == "" {
		reason = reasonFor(code)
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	b, _ := json.Marshal(apiStatus{Kind: "Status", APIVersion: "v1", Status: "Failure",
		Message: msg, Reason: reason, Details: details, Code: code})
	return b
}

// writeStatus answers with a metav1.Status, the body every apiserver error
// carries (clients read reason/code from it, not only the HTTP status).
func writeStatus(w http.ResponseWriter, e *logEntry, st *stats, code int, reason, msg string, details map[string]any) {
	if e != nil {
		st.setCode(e, code)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	w.Write(append(statusBody(code, reason, msg, details), '\n'))
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	w.Write(body)
	if len(body) == 0 || body[len(body)-1] != '\n' {
		w.Write([]byte{'\n'})
	}
}

// tooLarge is storage.NewTooLargeResourceVersionError: a 504 Timeout whose
// cause tells client-go's reflector to relist with resourceVersion="".
func tooLarge(w http.ResponseWriter, e *logEntry, st *stats, want, cur uint64) {
	w.Header().Set("Retry-After", "1")
	writeStatus(w, e, st, 504, "Timeout",
		fmt.Sprintf("Too large resource version: %d, current: %d", want, cur),
		map[string]any{"causes": []any{map[string]any{"reason": "ResourceVersionTooLarge",
			"message": "Too large resource version"}}, "retryAfterSeconds": 1})
}

// apiPath is a parsed request path.
type apiPath struct {
	kind string // collection, object, apis, api, resources, version
	gv   string
	res  *resType
	ns   string
	name string
}

func knownGV(gv string) bool {
	for _, r := range resources {
		if r.GroupVersion() == gv {
			return true
		}
	}
	return false
}

func parsePath(p string) (ap apiPath, watchPrefix bool, ok bool) {
	if p == "/version" || p == "/version/" {
		return apiPath{kind: "version"}, false, true
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var rest []string
	switch {
	case segs[0] == "api":
		if len(segs) == 1 {
			return apiPath{kind: "api"}, false, true
		}
		ap.gv = segs[1]
		rest = segs[2:]
	case segs[0] == "apis":
		if len(segs) == 1 {
			return apiPath{kind: "apis"}, false, true
		}
		if len(segs) < 3 {
			return ap, false, false
		}
		ap.gv = segs[1] + "/" + segs[2]
		rest = segs[3:]
	default:
		return ap, false, false
	}
	if !knownGV(ap.gv) {
		return ap, false, false
	}
	if len(rest) == 0 {
		ap.kind = "resources"
		return ap, false, true
	}
	// Deprecated /watch/ paths are still served by the apiserver.
	if rest[0] == "watch" {
		watchPrefix = true
		rest = rest[1:]
	}
	switch len(rest) {
	case 1:
		ap.res = resourceByPath(ap.gv, rest[0])
		ap.kind = "collection"
	case 2:
		ap.res = resourceByPath(ap.gv, rest[0])
		if ap.res != nil && ap.res.Namespaced {
			return ap, false, false
		}
		ap.kind, ap.name = "object", rest[1]
	case 3:
		if rest[0] != "namespaces" {
			return ap, false, false
		}
		ap.res = resourceByPath(ap.gv, rest[2])
		if ap.res != nil && !ap.res.Namespaced {
			return ap, false, false
		}
		ap.kind, ap.ns = "collection", rest[1]
	case 4:
		if rest[0] != "namespaces" {
			return ap, false, false
		}
		ap.res = resourceByPath(ap.gv, rest[2])
		if ap.res != nil && !ap.res.Namespaced {
			return ap, false, false
		}
		ap.kind, ap.ns, ap.name = "object", rest[1], rest[3]
	default:
		return ap, false, false
	}
	if ap.res == nil {
		return ap, false, false
	}
	return ap, watchPrefix, true
}

// tokens re-reads the token file on every request, so a test can rotate
// it (T22) by writing a new file; every non-empty line is a valid token,
// which also allows an overlap window like projected tokens have.
func (s *server) tokens() []string {
	if s.opts.tokenFile == "" {
		return nil
	}
	b, err := os.ReadFile(s.opts.tokenFile)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// authenticate mirrors the apiserver's union authenticator: a verified
// client certificate, else a bearer token; a token that is presented but
// wrong is a 401 even when anonymous access would otherwise be allowed.
func (s *server) authenticate(r *http.Request) (string, bool) {
	if s.opts.clientCA && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if cn, err := s.pki.verifyClient(r.TLS.PeerCertificates); err == nil {
			return "cert:" + cn, true
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			got := strings.TrimSpace(auth[7:])
			for i, t := range s.tokens() {
				if subtle.ConstantTimeCompare([]byte(got), []byte(t)) == 1 {
					return "token#" + strconv.Itoa(i+1), true
				}
			}
		}
		return "", false
	}
	if s.opts.tokenFile == "" && !s.opts.clientCA {
		return "system:anonymous", true
	}
	return "", false
}

func queryBool(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

func (s *server) serveAPI(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz", "/readyz", "/livez":
		w.Write([]byte("ok"))
		return
	}
	q := r.URL.Query()
	ap, watchPrefix, found := parsePath(r.URL.Path)
	e := &logEntry{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Params: q}
	isWatch := watchPrefix || queryBool(q.Get("watch"))
	if found && ap.res != nil {
		e.Resource, e.Namespace = ap.res.Name, ap.ns
		switch {
		case isWatch:
			e.Verb = "watch"
		case ap.kind == "collection":
			e.Verb = "list"
		default:
			e.Verb = "get"
		}
	}
	s.stats.start(e)
	if s.opts.verbose {
		log.Printf("api %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
	}

	user, ok := s.authenticate(r)
	if !ok {
		writeStatus(w, e, s.stats, 401, "Unauthorized", "Unauthorized", nil)
		return
	}
	e.User = user
	if !found || (ap.res != nil && s.disabled(ap.res)) {
		writeStatus(w, e, s.stats, 404, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	if r.Method != http.MethodGet {
		// The agent only reads; writes go through the control port.
		writeStatus(w, e, s.stats, 405, "MethodNotAllowed",
			fmt.Sprintf("%s is not supported by the fake API server; use the control interface", r.Method), nil)
		return
	}
	if ap.res != nil {
		if f := s.takeFault(ap.res.Name, e.Verb); f != nil {
			s.injectFault(w, e, f)
			return
		}
	}

	switch ap.kind {
	case "version":
		s.stats.setCode(e, 200)
		writeJSON(w, 200, []byte(`{"major":"1","minor":"30","gitVersion":"v1.30.0-sl-fakeapi",`+
			`"gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean",`+
			`"buildDate":"2024-01-01T00:00:00Z","goVersion":"go1.19","compiler":"gc","platform":"linux/amd64"}`))
	case "api", "apis", "resources":
		s.stats.setCode(e, 200)
		writeJSON(w, 200, s.discovery(ap, r))
	case "collection", "object":
		f := filter{ns: ap.ns}
		var err error
		if f.ls, err = parseLabelSelector(q.Get("labelSelector")); err != nil {
			writeStatus(w, e, s.stats, 400, "BadRequest", err.Error(), nil)
			return
		}
		if f.fs, err = parseFieldSelector(q.Get("fieldSelector"), ap.res); err != nil {
			writeStatus(w, e, s.stats, 400, "BadRequest", err.Error(), nil)
			return
		}
		switch {
		case isWatch:
			if ap.kind == "object" {
				// A watch on one object is a watch of its collection
				// narrowed to metadata.name, as the apiserver does it.
				f.fs = append(f.fs, fieldReq{field: "metadata.name", val: ap.name})
			}
			s.watch(w, r, e, ap.res, f)
		case ap.kind == "collection":
			s.list(w, r, e, ap.res, f)
		default:
			s.getObject(w, e, ap)
		}
	}
}

func (s *server) injectFault(w http.ResponseWriter, e *logEntry, f *fault) {
	if f.DelayMs > 0 {
		time.Sleep(time.Duration(f.DelayMs) * time.Millisecond)
	}
	if f.Code == 0 {
		// Drop the connection with no response at all.
		s.stats.setCode(e, 0)
		panic(http.ErrAbortHandler)
	}
	var details map[string]any
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		details = map[string]any{"retryAfterSeconds": f.RetryAfter}
	}
	msg := f.Message
	if msg == "" {
		switch f.Code {
		case 429:
			msg = "Too many requests, please try again later."
		case 401:
			msg = "Unauthorized"
		default:
			msg = fmt.Sprintf("injected failure (%d)", f.Code)
		}
	}
	writeStatus(w, e, s.stats, f.Code, f.Reason, msg, details)
}

func (s *server) getObject(w http.ResponseWriter, e *logEntry, ap apiPath) {
	o := s.store.get(ap.res, objKey{ap.ns, ap.name})
	if o == nil {
		writeStatus(w, e, s.stats, 404, "NotFound", fmt.Sprintf("%s %q not found", ap.res.Name, ap.name),
			map[string]any{"name": ap.name, "kind": ap.res.Name})
		return
	}
	s.stats.setCode(e, 200)
	writeJSON(w, 200, o.typed)
}

// contToken is the continue token: the apiserver's base64 JSON
// {"v":"meta.k8s.io/v1","rv":N,"start":"key\x00"} plus fake-only fields
// that let tests expire it (epoch, first page's time, resource).
type contToken struct {
	V     string `json:"v"`
	RV    uint64 `json:"rv"`
	Start string `json:"start"`
	Res   string `json:"r"`
	Epoch uint64 `json:"e"`
	T     int64  `json:"t"`
}

func encodeCont(t contToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCont(s string) (contToken, error) {
	var t contToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, fmt.Errorf("continue key is not valid: %v", err)
	}
	if err := json.Unmarshal(b, &t); err != nil || t.V != "meta.k8s.io/v1" {
		return t, fmt.Errorf("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	return t, nil
}

const contExpiredMsg = "The provided continue parameter is too old to display a consistent list result. " +
	"You can start a new list without the continue parameter."

// list serves a LIST with the apiserver's resourceVersion semantics
// (SPECS C.3): unset = most recent; "0" = any (from cache, ignoring limit
// unless configured otherwise); a value = NotOlderThan, or Exact when
// paging or resourceVersionMatch=Exact (410 once compacted).
func (s *server) list(w http.ResponseWriter, r *http.Request, e *logEntry, res *resType, f filter) {
	q := r.URL.Query()
	cfg := s.config()
	rvp := q.Get("resourceVersion")
	match := q.Get("resourceVersionMatch")
	cont := q.Get("continue")
	var limit int64
	if l := q.Get("limit"); l != "" {
		var err error
		if limit, err = strconv.ParseInt(l, 10, 64); err != nil {
			writeStatus(w, e, s.stats, 400, "BadRequest", fmt.Sprintf("limit: invalid value %q", l), nil)
			return
		}
	}
	invalid := func(msg string) {
		writeStatus(w, e, s.stats, 422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: "+msg, nil)
	}
	switch {
	case match != "" && match != "NotOlderThan" && match != "Exact":
		invalid(fmt.Sprintf("resourceVersionMatch: Unsupported value: %q", match))
		return
	case match != "" && rvp == "":
		invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
		return
	case match != "" && cont != "":
		invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided")
		return
	case match == "Exact" && rvp == "0":
		invalid("resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"")
		return
	case cont != "" && rvp != "" && rvp != "0":
		writeStatus(w, e, s.stats, 400, "BadRequest", "specifying resource version is not allowed when using continue", nil)
		return
	}

	var tok contToken
	if cont != "" {
		var err error
		if tok, err = decodeCont(cont); err != nil || tok.Res != res.Name {
			if err == nil {
				err = fmt.Errorf("continue key is not valid: it belongs to another resource")
			}
			writeStatus(w, e, s.stats, 400, "BadRequest", err.Error(), nil)
			return
		}
	}

	st := s.store
	st.mu.Lock()
	var snap uint64
	var start objKey
	haveStart := false
	switch {
	case cont != "":
		s.mu.Lock()
		epoch := s.contEpoch
		s.mu.Unlock()
		if tok.Epoch < epoch || tok.RV < st.compacted ||
			(cfg.ContinueTTL > 0 && time.Since(time.Unix(0, tok.T)) > time.Duration(cfg.ContinueTTL)) {
			st.mu.Unlock()
			writeStatus(w, e, s.stats, 410, "Expired", contExpiredMsg, nil)
			return
		}
		snap = tok.RV
		k := strings.TrimSuffix(tok.Start, "\x00")
		if res.Namespaced {
			if i := strings.IndexByte(k, '/'); i >= 0 {
				start = objKey{k[:i], k[i+1:]}
			}
		} else {
			start = objKey{"", k}
		}
		haveStart = true
	case rvp == "":
		snap = st.rv
	case rvp == "0":
		snap = st.rv
		if cfg.RV0IgnoresLimit {
			limit = 0
		}
	default:
		x, err := strconv.ParseUint(rvp, 10, 64)
		if err != nil {
			st.mu.Unlock()
			invalid(fmt.Sprintf("resourceVersion: Invalid value: %q: must be a number", rvp))
			return
		}
		if x > st.rv {
			cur := st.rv
			st.mu.Unlock()
			tooLarge(w, e, s.stats, x, cur)
			return
		}
		exact := match == "Exact" || (match == "" && limit > 0)
		if exact {
			if x < st.compacted {
				st.mu.Unlock()
				writeStatus(w, e, s.stats, 410, "Expired",
					fmt.Sprintf("The resourceVersion for the provided list is too old. (requested %d, oldest %d)", x, st.compacted), nil)
				return
			}
			snap = x
		} else {
			snap = st.rv
		}
	}
	objs := sortedObjects(st.stateAtLocked(res, snap))
	st.mu.Unlock()

	var items []*object
	for _, o := range objs {
		if haveStart && !keyLess(start, o.key) {
			continue
		}
		if f.matches(o) {
			items = append(items, o)
		}
	}
	next := ""
	remaining := int64(-1)
	if limit > 0 && int64(len(items)) > limit {
		last := items[limit-1].key
		t0 := time.Now().UnixNano()
		if cont != "" {
			t0 = tok.T
		}
		s.mu.Lock()
		epoch := s.contEpoch
		s.mu.Unlock()
		next = encodeCont(contToken{V: "meta.k8s.io/v1", RV: snap, Start: last.String() + "\x00",
			Res: res.Name, Epoch: epoch, T: t0})
		if !f.selecting() {
			// Only known when nothing filters the remainder.
			remaining = int64(len(items)) - limit
		}
		items = items[:limit]
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":%q`,
		res.Kind+"List", res.APIVersion(), rvString(snap))
	if next != "" {
		fmt.Fprintf(&b, `,"continue":%q`, next)
	}
	if remaining >= 0 {
		fmt.Fprintf(&b, `,"remainingItemCount":%d`, remaining)
	}
	b.WriteString(`},"items":[`)
	for i, o := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(o.listItem())
	}
	b.WriteString("]}")
	s.stats.setCode(e, 200)
	writeJSON(w, 200, b.Bytes())
}

// discovery answers /api, /apis and /api(s)/<gv> minimally: enough for a
// client that probes the server before listing.
func (s *server) discovery(ap apiPath, r *http.Request) []byte {
	var v any
	switch ap.kind {
	case "api":
		v = map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []any{map[string]any{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}}
	case "apis":
		var groups []any
		seen := map[string]bool{}
		for _, res := range resources {
			if res.Group == "" || seen[res.Group] {
				continue
			}
			seen[res.Group] = true
			gv := map[string]any{"groupVersion": res.GroupVersion(), "version": res.Version}
			groups = append(groups, map[string]any{"name": res.Group, "versions": []any{gv},
				"preferredVersion": gv})
		}
		v = map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
	default:
		var list []any
		for _, res := range resources {
			if res.GroupVersion() != ap.gv || s.disabled(res) {
				continue
			}
			list = append(list, map[string]any{"name": res.Name, "singularName": res.Singular,
				"namespaced": res.Namespaced, "kind": res.Kind, "verbs": []string{"get", "list", "watch"}})
		}
		v = map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": ap.gv, "resources": list}
	}
	b, _ := json.Marshal(v)
	return b
}
