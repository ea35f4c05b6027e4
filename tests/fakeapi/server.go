// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// duration is a time.Duration that reads and writes as "250ms" in JSON;
// a bare number is taken as seconds.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration: want \"1.5s\" or seconds, got %s", b)
	}
	*d = duration(f * float64(time.Second))
	return nil
}

// config holds the knobs tests turn at run time through POST /config.
type config struct {
	// Gone picks how a watch from a compacted RV fails: "event" (200 and
	// one ERROR event with a 410 Status, what the watch cache does today)
	// or "status" (HTTP 410 before streaming). SPECS C.5: both happen.
	Gone string `json:"gone"`
	// Chunking: "natural" one chunk per event; "split" every event over
	// several chunks; "packed" every queued event in one chunk; "mixed"
	// the queued bytes cut at sizes unrelated to event boundaries (T25).
	Chunking   string   `json:"chunking"`
	ChunkDelay duration `json:"chunkDelay"` // pause between partial chunks, so reads see them apart
	PackWindow duration `json:"packWindow"` // packed/mixed: wait this long to gather more events
	// BookmarkInterval applies to watches opened after it is set.
	BookmarkInterval duration `json:"bookmarkInterval"`
	ContinueTTL      duration `json:"continueTTL"`
	// WatchTimeout is the server-side limit when a watch has no
	// timeoutSeconds (the apiserver's --min-request-timeout); 0 = none.
	WatchTimeout duration `json:"watchTimeout"`
	// RV0IgnoresLimit: LIST with resourceVersion=0 is served whole from
	// the watch cache, ignoring limit (SPECS C.3).
	RV0IgnoresLimit bool `json:"rv0IgnoresLimit"`
	// WatchList enables sendInitialEvents (the WatchList feature).
	WatchList bool `json:"watchList"`
	// Disabled resources answer 404, as when a CRD (ANP/BANP) is absent.
	Disabled []string `json:"disabled"`
}

func defaultConfig() config {
	return config{
		Gone:             "event",
		Chunking:         "natural",
		ChunkDelay:       duration(2 * time.Millisecond),
		PackWindow:       duration(20 * time.Millisecond),
		BookmarkInterval: duration(time.Minute),
		ContinueTTL:      duration(5 * time.Minute),
		RV0IgnoresLimit:  true,
		WatchList:        true,
	}
}

func (c *config) validate() error {
	switch c.Gone {
	case "event", "status":
	default:
		return fmt.Errorf("gone must be event or status, not %q", c.Gone)
	}
	switch c.Chunking {
	case "natural", "split", "packed", "mixed":
	default:
		return fmt.Errorf("chunking must be natural, split, packed or mixed, not %q", c.Chunking)
	}
	for _, d := range c.Disabled {
		if resourceByName(d) == nil {
			return fmt.Errorf("unknown resource %q", d)
		}
	}
	return nil
}

// fault makes the next Count matching API requests fail.
type fault struct {
	Count      int    `json:"count"`
	Code       int    `json:"code"` // 0: drop the connection without a response
	RetryAfter int    `json:"retryAfter,omitempty"`
	Resource   string `json:"resource,omitempty"`
	Verb       string `json:"verb,omitempty"` // list, watch, get
	Reason     string `json:"reason,omitempty"`
	Message    string `json:"message,omitempty"`
	DelayMs    int    `json:"delayMs,omitempty"` // wait before answering
}

// logEntry is one API request as the control interface reports it.
type logEntry struct {
	Seq       uint64     `json:"seq"`
	Time      time.Time  `json:"time"`
	Method    string     `json:"method"`
	Path      string     `json:"path"`
	Query     string     `json:"query"`
	Params    url.Values `json:"params"`
	Verb      string     `json:"verb,omitempty"`
	Resource  string     `json:"resource,omitempty"`
	Namespace string     `json:"namespace,omitempty"`
	User      string     `json:"user,omitempty"`
	Code      int        `json:"code"`
	Events    int        `json:"events,omitempty"` // watch: events sent, bookmarks included
	Ended     string     `json:"ended,omitempty"`  // watch: why the stream ended
}

// stats is the request accounting tests assert on (T26: re-watched
// without relisting; T27: relisted after 410).
type stats struct {
	mu     sync.Mutex
	seq    uint64
	counts map[string]map[string]int
	open   map[string]int
	log    []*logEntry
	maxLog int
}

func newStats() *stats {
	return &stats{counts: map[string]map[string]int{}, open: map[string]int{}, maxLog: 5000}
}

func (st *stats) start(e *logEntry) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seq++
	e.Seq = st.seq
	if e.Resource != "" && e.Verb != "" {
		m := st.counts[e.Resource]
		if m == nil {
			m = map[string]int{}
			st.counts[e.Resource] = m
		}
		m[e.Verb]++
	}
	st.log = append(st.log, e)
	if len(st.log) > st.maxLog {
		st.log = append([]*logEntry(nil), st.log[len(st.log)-st.maxLog/2:]...)
	}
}

func (st *stats) setCode(e *logEntry, code int) {
	st.mu.Lock()
	e.Code = code
	st.mu.Unlock()
}

func (st *stats) watchOpen(res string, d int) {
	st.mu.Lock()
	st.open[res] += d
	st.mu.Unlock()
}

func (st *stats) watchEnd(e *logEntry, events int, why string) {
	st.mu.Lock()
	e.Events = events
	e.Ended = why
	st.mu.Unlock()
}

func (st *stats) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.counts = map[string]map[string]int{}
	st.log = nil
}

// count is counts[res][verb], or the number of open watches for "open".
func (st *stats) count(res, verb string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if verb == "open" {
		return st.open[res]
	}
	return st.counts[res][verb]
}

func (st *stats) snapshot() (map[string]map[string]int, map[string]int, uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c := map[string]map[string]int{}
	for r, m := range st.counts {
		c[r] = map[string]int{}
		for v, n := range m {
			c[r][v] = n
		}
	}
	o := map[string]int{}
	for r, n := range st.open {
		o[r] = n
	}
	return c, o, st.seq
}

func (st *stats) entries(res, verb string, since uint64) []logEntry {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := []logEntry{}
	for _, e := range st.log {
		if e.Seq <= since || (res != "" && e.Resource != res) || (verb != "" && e.Verb != verb) {
			continue
		}
		out = append(out, *e)
	}
	return out
}

// server ties the store, the knobs and the accounting together; api.go
// serves the Kubernetes side and control.go the test side.
type server struct {
	opts  options
	store *store
	stats *stats
	pki   *pki

	mu        sync.Mutex
	cfg       config
	faults    []*fault
	contEpoch uint64 // continue tokens minted before the current epoch are expired

	apiURL      string
	controlURL  string
	insecureURL string
	servers     []*http.Server
	done        chan struct{} // closed on shutdown: every watch ends cleanly
	closeOnce   sync.Once
}

func (s *server) config() config {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cfg
	c.Disabled = append([]string(nil), s.cfg.Disabled...)
	return c
}

func (s *server) disabled(res *resType) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.cfg.Disabled {
		if resourceByName(d) == res {
			return true
		}
	}
	return false
}

// takeFault pops one use of the first fault matching this request.
func (s *server) takeFault(res, verb string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Resource != "" && f.Resource != res) || (f.Verb != "" && f.Verb != verb) {
			continue
		}
		cp := *f
		f.Count--
		if f.Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return &cp
	}
	return nil
}

func rvString(rv uint64) string { return strconv.FormatUint(rv, 10) }
