// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// watcher is one open WATCH stream. The store pushes encoded event lines
// into its queue under the store lock, so events (and bookmarks) are
// queued in RV order; the handler goroutine drains and writes them, so a
// slow client never blocks writers.
type watcher struct {
	res       *resType
	f         filter
	bookmarks bool
	fromRV    uint64 // start RV: earlier changes are not sent, bookmarks never report less

	mu      sync.Mutex
	queue   [][]byte
	notify  chan struct{}
	closeCh chan string
}

func newWatcher(res *resType, f filter, bookmarks bool) *watcher {
	return &watcher{res: res, f: f, bookmarks: bookmarks,
		notify: make(chan struct{}, 1), closeCh: make(chan string, 1)}
}

func (w *watcher) push(line []byte) {
	w.mu.Lock()
	w.queue = append(w.queue, line)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *watcher) drain() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

func (w *watcher) close(mode string) {
	select {
	case w.closeCh <- mode:
	default:
	}
}

func eventLine(typ string, obj []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"`)
	b.WriteString(typ)
	b.WriteString(`","object":`)
	b.Write(obj)
	b.WriteString("}\n")
	return b.Bytes()
}

// bookmarkLine: a BOOKMARK object carries only its type and RV (plus the
// initial-events-end annotation after a streaming list), SPECS C.4.
func bookmarkLine(res *resType, rv uint64, initialEnd bool) []byte {
	ann := ""
	if initialEnd {
		ann = `,"annotations":{"k8s.io/initial-events-end":"true"}`
	}
	return eventLine("BOOKMARK", []byte(fmt.Sprintf(`{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":%q%s}}`,
		res.Kind, res.APIVersion(), rvString(rv), ann)))
}

func goneLine(msg string) []byte {
	return eventLine("ERROR", statusBody(410, "Expired", msg, nil))
}

// offer converts one change for this watcher the way the watch cache does
// (cacheWatcher.convertToWatchEvent): an object entering the selection is
// ADDED, leaving it is DELETED (previous content, this change's RV).
// Called with the store lock held.
func (w *watcher) offer(c *change) {
	if c.res != w.res || c.rv <= w.fromRV {
		// Only changes after the watch's start RV (which may lie ahead
		// of the store when a client asks for a future RV).
		return
	}
	cur := c.typ != "DELETED" && w.f.matches(c.obj)
	old := c.prev != nil && w.f.matches(c.prev)
	switch {
	case cur && !old:
		w.push(eventLine("ADDED", c.obj.typed))
	case cur && old:
		w.push(eventLine("MODIFIED", c.obj.typed))
	case !cur && old:
		o := c.obj
		if c.typ != "DELETED" {
			o = c.prev.stamped(c.rv)
		}
		w.push(eventLine("DELETED", o.typed))
	}
}

func (s *store) register(w *watcher) {
	s.watchers[w] = struct{}{}
}

func (s *store) unregister(w *watcher) {
	s.mu.Lock()
	delete(s.watchers, w)
	s.mu.Unlock()
}

func (s *store) bookmark(w *watcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rv >= w.fromRV {
		w.push(bookmarkLine(w.res, s.rv, false))
	}
}

// closeWatches ends the open watches of res (all when nil): "clean" ends
// the chunked body normally, "abort" drops the connection mid-stream (an
// apiserver crash or restart), "error" sends ERROR 410 first (what etcd
// compaction does to a lagging watch).
func (s *store) closeWatches(res *resType, mode string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for w := range s.watchers {
		if res == nil || w.res == res {
			w.close(mode)
			n++
		}
	}
	return n
}

func (s *store) bookmarkAll(res *resType) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for w := range s.watchers {
		if (res == nil || w.res == res) && w.bookmarks && s.rv >= w.fromRV {
			w.push(bookmarkLine(w.res, s.rv, false))
			n++
		}
	}
	return n
}

// watch serves WATCH with the semantics of SPECS C.4/C.5.
func (s *server) watch(hw http.ResponseWriter, r *http.Request, e *logEntry, res *resType, f filter) {
	q := r.URL.Query()
	cfg := s.config()
	rvp := q.Get("resourceVersion")
	match := q.Get("resourceVersionMatch")
	bookmarks := queryBool(q.Get("allowWatchBookmarks"))
	sieSet := q.Get("sendInitialEvents") != ""
	sie := queryBool(q.Get("sendInitialEvents"))
	invalid := func(msg string) {
		writeStatus(hw, e, s.stats, 422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: "+msg, nil)
	}
	var timeout time.Duration
	if ts := q.Get("timeoutSeconds"); ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || n < 0 {
			writeStatus(hw, e, s.stats, 400, "BadRequest", fmt.Sprintf("timeoutSeconds: invalid value %q", ts), nil)
			return
		}
		timeout = time.Duration(n) * time.Second
	}
	if timeout == 0 {
		timeout = time.Duration(cfg.WatchTimeout)
	}
	switch {
	case sieSet && !cfg.WatchList:
		invalid("sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled")
		return
	case sieSet && !bookmarks:
		invalid("allowWatchBookmarks: Forbidden: allowWatchBookmarks must be set to true when sendInitialEvents is specified")
		return
	case sieSet && match != "NotOlderThan":
		invalid("resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
		return
	case !sieSet && match != "":
		invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
		return
	}
	var x uint64
	if rvp != "" && rvp != "0" {
		var err error
		if x, err = strconv.ParseUint(rvp, 10, 64); err != nil {
			invalid(fmt.Sprintf("resourceVersion: Invalid value: %q: must be a number", rvp))
			return
		}
	}
	fl, ok := hw.(http.Flusher)
	if !ok {
		writeStatus(hw, e, s.stats, 500, "InternalError", "streaming unsupported", nil)
		return
	}

	wt := newWatcher(res, f, bookmarks)
	st := s.store
	gone := ""
	st.mu.Lock()
	switch {
	case sie:
		// Streaming list: current state (not older than x), then a
		// bookmark marking the end of the initial events.
		if x > st.rv {
			cur := st.rv
			st.mu.Unlock()
			tooLarge(hw, e, s.stats, x, cur)
			return
		}
		for _, o := range sortedObjects(st.objs[res]) {
			if f.matches(o) {
				wt.queue = append(wt.queue, eventLine("ADDED", o.typed))
			}
		}
		wt.queue = append(wt.queue, bookmarkLine(res, st.rv, true))
		wt.fromRV = st.rv
	case x == 0:
		// Unset or "0": synthetic ADDED for the current state (not in
		// RV order), then changes; sendInitialEvents=false skips them.
		if !sieSet {
			for _, o := range sortedObjects(st.objs[res]) {
				if f.matches(o) {
					wt.queue = append(wt.queue, eventLine("ADDED", o.typed))
				}
			}
		}
		wt.fromRV = st.rv
	case x < st.compacted:
		gone = fmt.Sprintf("too old resource version: %d (%d)", x, st.compacted)
	default:
		// Start at exact: replay every change after x. An x beyond the
		// current RV simply waits for the store to get there.
		wt.fromRV = x
		for _, c := range st.log {
			wt.offer(c)
		}
	}
	if gone == "" {
		st.register(wt)
		if len(wt.queue) > 0 {
			// Initial events are written once streaming starts (a
			// replay through offer may have signalled already).
			select {
			case wt.notify <- struct{}{}:
			default:
			}
		}
	}
	st.mu.Unlock()

	hw.Header().Set("Content-Type", "application/json")
	hw.Header().Set("Cache-Control", "no-cache, private")
	if gone != "" {
		if cfg.Gone == "status" {
			writeStatus(hw, e, s.stats, 410, "Expired", gone, nil)
			return
		}
		s.stats.setCode(e, 200)
		hw.WriteHeader(200)
		hw.Write(goneLine(gone))
		s.stats.watchEnd(e, 1, "gone")
		return
	}
	s.stats.setCode(e, 200)
	s.stats.watchOpen(res.Name, 1)
	sent := 0
	why := "client"
	defer func() {
		st.unregister(wt)
		s.stats.watchOpen(res.Name, -1)
		s.stats.watchEnd(e, sent, why)
	}()
	hw.WriteHeader(200)
	fl.Flush()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	var tick <-chan time.Time
	if bookmarks && cfg.BookmarkInterval > 0 {
		t := time.NewTicker(time.Duration(cfg.BookmarkInterval))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-wt.notify:
			c := s.config()
			if c.Chunking == "packed" || c.Chunking == "mixed" {
				// Let a burst of changes pile up so they share chunks.
				time.Sleep(time.Duration(c.PackWindow))
			}
			lines := wt.drain()
			if err := writeEvents(hw, fl, lines, c); err != nil {
				return
			}
			sent += len(lines)
		case <-tick:
			st.bookmark(wt)
		case <-timer:
			// A clean end of the chunked body: the client re-watches
			// from its last RV without relisting (T26).
			why = "timeout"
			return
		case mode := <-wt.closeCh:
			why = "closed-" + mode
			switch mode {
			case "abort":
				// No terminating chunk: the client sees a broken stream.
				panic(http.ErrAbortHandler)
			case "error":
				cur, _ := st.current()
				writeEvents(hw, fl, [][]byte{goneLine(fmt.Sprintf("too old resource version: %d (%d)", wt.fromRV, cur))}, s.config())
				sent++
			}
			return
		case <-r.Context().Done():
			return
		case <-s.done:
			why = "shutdown"
			return
		}
	}
}

// writeEvents puts event lines on the wire with the configured chunk
// boundaries. Every Write+Flush pair becomes exactly one HTTP/1.1 chunk
// (net/http sends a write larger than its buffer as one chunk when the
// buffer is empty, which Flush guarantees).
func writeEvents(w http.ResponseWriter, fl http.Flusher, lines [][]byte, cfg config) error {
	if len(lines) == 0 {
		return nil
	}
	first := true
	pause := cfg.Chunking == "split" || cfg.Chunking == "mixed"
	write := func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		if pause && !first && cfg.ChunkDelay > 0 {
			// Give the client a chance to read each piece on its own.
			time.Sleep(time.Duration(cfg.ChunkDelay))
		}
		first = false
		if _, err := w.Write(b); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	switch cfg.Chunking {
	case "packed":
		return write(bytes.Join(lines, nil))
	case "split":
		// '{' alone, two halves, then the newline alone: the JSON value
		// completes one chunk before its delimiter arrives.
		for _, l := range lines {
			n := len(l)
			mid := n / 2
			if mid < 1 {
				mid = 1
			}
			for _, p := range [][]byte{l[:1], l[1:mid], l[mid : n-1], l[n-1:]} {
				if err := write(p); err != nil {
					return err
				}
			}
		}
		return nil
	case "mixed":
		all := bytes.Join(lines, nil)
		sizes := []int{1, 13, 7, 211, 3, 64, 2, 97, 1024}
		for i, off := 0, 0; off < len(all); i++ {
			n := sizes[i%len(sizes)]
			if off+n > len(all) {
				n = len(all) - off
			}
			if err := write(all[off : off+n]); err != nil {
				return err
			}
			off += n
		}
		return nil
	default:
		for _, l := range lines {
			if err := write(l); err != nil {
				return err
			}
		}
		return nil
	}
}
