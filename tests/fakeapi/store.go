// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"
)

// resType is one served resource. The table below is the whole API surface
// the node agent uses (SPECS C.1 RBAC list, C.2 paths).
type resType struct {
	Name       string // plural, the path segment
	Singular   string
	Group      string // "" for the core group
	Version    string
	Kind       string
	Namespaced bool
	// CRD-backed resources are served as unstructured objects, whose list
	// items keep kind/apiVersion; built-in lists omit them per item.
	CRD bool
	// Selectable fields beyond metadata.name (and metadata.namespace for
	// namespaced resources); anything else is "field label not supported".
	Fields []string
}

func (r *resType) APIVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

func (r *resType) GroupVersion() string { return r.APIVersion() }

var resources = []*resType{
	{Name: "pods", Singular: "pod", Version: "v1", Kind: "Pod", Namespaced: true,
		// pkg/registry/core/pod/strategy.go ToSelectableFields (SPECS C.2)
		Fields: []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
			"spec.serviceAccountName", "spec.hostNetwork", "status.phase",
			"status.podIP", "status.nominatedNodeName"}},
	{Name: "namespaces", Singular: "namespace", Version: "v1", Kind: "Namespace",
		Fields: []string{"status.phase"}},
	{Name: "nodes", Singular: "node", Version: "v1", Kind: "Node",
		Fields: []string{"spec.unschedulable"}},
	{Name: "services", Singular: "service", Version: "v1", Kind: "Service", Namespaced: true,
		Fields: []string{"spec.clusterIP", "spec.type"}},
	{Name: "endpointslices", Singular: "endpointslice", Group: "discovery.k8s.io", Version: "v1",
		Kind: "EndpointSlice", Namespaced: true},
	{Name: "networkpolicies", Singular: "networkpolicy", Group: "networking.k8s.io", Version: "v1",
		Kind: "NetworkPolicy", Namespaced: true},
	{Name: "adminnetworkpolicies", Singular: "adminnetworkpolicy", Group: "policy.networking.k8s.io",
		Version: "v1alpha1", Kind: "AdminNetworkPolicy", CRD: true},
	{Name: "baselineadminnetworkpolicies", Singular: "baselineadminnetworkpolicy",
		Group: "policy.networking.k8s.io", Version: "v1alpha1", Kind: "BaselineAdminNetworkPolicy", CRD: true},
}

// resourceByPath finds a resource by group/version and plural name.
func resourceByPath(gv, name string) *resType {
	for _, r := range resources {
		if r.GroupVersion() == gv && r.Name == name {
			return r
		}
	}
	return nil
}

// resourceByName finds a resource by plural name alone (control interface).
func resourceByName(name string) *resType {
	for _, r := range resources {
		if r.Name == name || r.Kind == name || r.Singular == name {
			return r
		}
	}
	return nil
}

func resourceByKind(apiVersion, kind string) *resType {
	for _, r := range resources {
		if r.Kind == kind && (apiVersion == "" || r.APIVersion() == apiVersion) {
			return r
		}
	}
	return nil
}

type objKey struct{ ns, name string }

func (k objKey) String() string {
	if k.ns == "" {
		return k.name
	}
	return k.ns + "/" + k.name
}

func keyLess(a, b objKey) bool {
	if a.ns != b.ns {
		return a.ns < b.ns
	}
	return a.name < b.name
}

// object is one stored version. It is never mutated once stored, so the
// encodings can be cached and shared by every list and watcher.
type object struct {
	res   *resType
	key   objKey
	rv    uint64
	data  map[string]any // without kind/apiVersion
	plain []byte         // JSON as a built-in list item (no kind/apiVersion)
	typed []byte         // JSON with kind/apiVersion first, as GET and watch send it
}

func newObject(res *resType, key objKey, rv uint64, data map[string]any) *object {
	meta := metaOf(data)
	meta["resourceVersion"] = strconv.FormatUint(rv, 10)
	o := &object{res: res, key: key, rv: rv, data: data}
	body, err := json.Marshal(data)
	if err != nil {
		panic(err) // data came from encoding/json, it always re-encodes
	}
	o.plain = body
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"kind":%q,"apiVersion":%q`, res.Kind, res.APIVersion())
	if len(body) > 2 {
		b.WriteByte(',')
		b.Write(body[1:])
	} else {
		b.WriteByte('}')
	}
	o.typed = b.Bytes()
	return o
}

// listItem is the encoding inside a List: real built-in lists carry no
// per-item kind/apiVersion; CRD (unstructured) lists do.
func (o *object) listItem() []byte {
	if o.res.CRD {
		return o.typed
	}
	return o.plain
}

// stamped is the same content at another resourceVersion: a DELETED event
// carries the last state with the deletion's resourceVersion.
func (o *object) stamped(rv uint64) *object {
	return newObject(o.res, o.key, rv, deepCopy(o.data).(map[string]any))
}

func (o *object) labels() map[string]string {
	out := map[string]string{}
	if m, ok := metaOf(o.data)["labels"].(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

// field returns a selectable field's value the way the apiserver renders
// it into a fields.Set: missing strings are "", booleans "true"/"false".
func (o *object) field(path string) string {
	var cur any = o.data
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[path[start:i]]
		start = i + 1
	}
	switch v := cur.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	case nil:
		if path == "spec.hostNetwork" || path == "spec.unschedulable" {
			return "false"
		}
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func metaOf(data map[string]any) map[string]any {
	m, ok := data["metadata"].(map[string]any)
	if !ok {
		m = map[string]any{}
		data["metadata"] = m
	}
	return m
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}

// change is one entry of the history: what etcd's revision log would
// hold. obj is the state after the change (for DELETED: the last state
// stamped with the deletion RV), prev the state before (nil for ADDED).
type change struct {
	rv   uint64
	res  *resType
	key  objKey
	typ  string
	obj  *object
	prev *object
}

// store is the whole "etcd": current objects, the change log since the
// compaction point, and the open watchers that changes are fanned out to.
type store struct {
	mu        sync.Mutex
	rv        uint64
	compacted uint64 // watches/exact reads from an RV below this are 410
	objs      map[*resType]map[objKey]*object
	log       []*change
	maxLog    int
	watchers  map[*watcher]struct{}
}

func newStore(startRV uint64, maxLog int) *store {
	s := &store{rv: startRV, compacted: startRV, maxLog: maxLog,
		objs: map[*resType]map[objKey]*object{}, watchers: map[*watcher]struct{}{}}
	for _, r := range resources {
		s.objs[r] = map[objKey]*object{}
	}
	return s
}

// op is one requested write: an upsert (data != nil) or a delete.
type op struct {
	res  *resType
	key  objKey
	data map[string]any
	// skipSame makes an upsert whose content equals the stored object a
	// no-op, as the apiserver does for no-op updates.
	skipSame bool
}

// normalize turns a decoded JSON object into an op: finds its resource
// from apiVersion/kind (or res if given), and defaults the namespace.
func normalize(raw map[string]any, res *resType) (op, error) {
	av, _ := raw["apiVersion"].(string)
	kind, _ := raw["kind"].(string)
	if kind != "" {
		r := resourceByKind(av, kind)
		if r == nil {
			return op{}, fmt.Errorf("unknown kind %q apiVersion %q", kind, av)
		}
		if res != nil && r != res {
			return op{}, fmt.Errorf("object of kind %s in a %s request", kind, res.Name)
		}
		res = r
	}
	if res == nil {
		return op{}, fmt.Errorf("object without kind and no resource given")
	}
	data := deepCopy(raw).(map[string]any)
	delete(data, "kind")
	delete(data, "apiVersion")
	meta := metaOf(data)
	name, _ := meta["name"].(string)
	if name == "" {
		if gn, _ := meta["generateName"].(string); gn != "" {
			name = gn + randSuffix()
			meta["name"] = name
		} else {
			return op{}, fmt.Errorf("%s without metadata.name", res.Kind)
		}
	}
	ns, _ := meta["namespace"].(string)
	if res.Namespaced {
		if ns == "" {
			ns = "default"
			meta["namespace"] = ns
		}
	} else {
		ns = ""
		delete(meta, "namespace")
	}
	if res.Name == "namespaces" {
		// The apiserver adds this immutable label to every namespace
		// (SPECS D.5); policies select namespaces by name through it.
		lbl, _ := meta["labels"].(map[string]any)
		if lbl == nil {
			lbl = map[string]any{}
			meta["labels"] = lbl
		}
		lbl["kubernetes.io/metadata.name"] = name
	}
	return op{res: res, key: objKey{ns, name}, data: data}, nil
}

func randSuffix() string {
	const alpha = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	rand.Read(b)
	for i := range b {
		b[i] = alpha[int(b[i])%len(alpha)]
	}
	return string(b)
}

func newUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// sameContent compares two object bodies ignoring resourceVersion.
func sameContent(a, b map[string]any) bool {
	ac := deepCopy(a).(map[string]any)
	bc := deepCopy(b).(map[string]any)
	delete(metaOf(ac), "resourceVersion")
	delete(metaOf(bc), "resourceVersion")
	return reflect.DeepEqual(ac, bc)
}

// apply performs a batch of writes atomically: consecutive RVs, and every
// watcher sees the whole batch queued at once (so "packed" chunking can
// put several of them into one chunk).
func (s *store) apply(ops []op) []*change {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*change
	for _, o := range ops {
		cur := s.objs[o.res][o.key]
		var c *change
		if o.data == nil {
			if cur == nil {
				continue
			}
			s.rv++
			c = &change{rv: s.rv, res: o.res, key: o.key, typ: "DELETED", obj: cur.stamped(s.rv), prev: cur}
			delete(s.objs[o.res], o.key)
		} else {
			data := deepCopy(o.data).(map[string]any)
			meta := metaOf(data)
			if cur != nil {
				// An update keeps identity unless the caller sets it.
				cm := metaOf(cur.data)
				if _, ok := meta["uid"]; !ok {
					meta["uid"] = cm["uid"]
				}
				if _, ok := meta["creationTimestamp"]; !ok {
					meta["creationTimestamp"] = cm["creationTimestamp"]
				}
				if o.skipSame && sameContent(data, cur.data) {
					continue
				}
			} else {
				if u, _ := meta["uid"].(string); u == "" {
					meta["uid"] = newUID()
				}
				if t, _ := meta["creationTimestamp"].(string); t == "" {
					meta["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
				}
			}
			s.rv++
			obj := newObject(o.res, o.key, s.rv, data)
			typ := "ADDED"
			if cur != nil {
				typ = "MODIFIED"
			}
			c = &change{rv: s.rv, res: o.res, key: o.key, typ: typ, obj: obj, prev: cur}
			s.objs[o.res][o.key] = obj
		}
		s.log = append(s.log, c)
		out = append(out, c)
	}
	for _, c := range out {
		for w := range s.watchers {
			w.offer(c)
		}
	}
	if s.maxLog > 0 && len(s.log) > s.maxLog {
		// Keep memory bounded on long runs, like etcd's periodic
		// compaction: drop the older half.
		s.compactLocked(s.log[len(s.log)-s.maxLog/2-1].rv)
	}
	return out
}

// compactLocked forgets history up to and including rv: watches and exact
// reads from an RV below it get 410 Expired from now on.
func (s *store) compactLocked(rv uint64) {
	if rv > s.rv {
		rv = s.rv
	}
	if rv <= s.compacted {
		return
	}
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].rv > rv })
	s.log = append([]*change(nil), s.log[i:]...)
	s.compacted = rv
}

func (s *store) compact(rv uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv == 0 {
		rv = s.rv
	}
	s.compactLocked(rv)
	return s.compacted
}

// stateAtLocked reconstructs a resource's objects as of rv (compacted <=
// rv <= s.rv) by undoing the newer changes, the way an etcd read at a past
// revision sees them. Pagination reads every page at the first page's RV.
func (s *store) stateAtLocked(res *resType, rv uint64) map[objKey]*object {
	m := make(map[objKey]*object, len(s.objs[res]))
	for k, o := range s.objs[res] {
		m[k] = o
	}
	for i := len(s.log) - 1; i >= 0 && s.log[i].rv > rv; i-- {
		c := s.log[i]
		if c.res != res {
			continue
		}
		if c.prev == nil {
			delete(m, c.key)
		} else {
			m[c.key] = c.prev
		}
	}
	return m
}

// sortedObjects returns the objects in etcd key order (namespace, name),
// the order the apiserver lists them in.
func sortedObjects(m map[objKey]*object) []*object {
	out := make([]*object, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].key, out[j].key) })
	return out
}

func (s *store) get(res *resType, key objKey) *object {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objs[res][key]
}

func (s *store) current() (rv, compacted uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rv, s.compacted
}
