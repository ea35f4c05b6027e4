// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Label selectors follow apimachinery labels.Parse: comma-separated
// requirements, "key", "!key", "key=v", "key==v", "key!=v",
// "key in (a,b)", "key notin (a,b)", "key>n", "key<n". The agent sends
// e.g. "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
// (SPECS C.2, T30), so parse errors must be 400s as on a real server, not
// silently match-all.

type labelReq struct {
	key  string
	op   string // exists, !, =, !=, in, notin, gt, lt
	vals []string
}

type labelSelector []labelReq

var (
	labelNameRE  = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$`)
	labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	dnsSubRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

func validLabelKey(k string) error {
	name := k
	if i := strings.IndexByte(k, '/'); i >= 0 {
		prefix := k[:i]
		name = k[i+1:]
		if prefix == "" || len(prefix) > 253 || !dnsSubRE.MatchString(prefix) {
			return fmt.Errorf("invalid label key %q: prefix part must be a DNS subdomain", k)
		}
	}
	if name == "" || len(name) > 63 || !labelNameRE.MatchString(name) {
		return fmt.Errorf("invalid label key %q: name part must consist of alphanumeric characters, '-', '_' or '.'", k)
	}
	return nil
}

func validLabelValue(v string) error {
	if len(v) > 63 || !labelValueRE.MatchString(v) {
		return fmt.Errorf("invalid label value: %q: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'", v)
	}
	return nil
}

type ltok struct {
	kind byte // 'i' identifier, 'o' operator, 0 end
	s    string
}

func lexLabels(s string) []ltok {
	var out []ltok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == ',' || c == '(' || c == ')' || c == '<' || c == '>':
			out = append(out, ltok{'o', s[i : i+1]})
			i++
		case c == '!' || c == '=':
			if i+1 < len(s) && s[i+1] == '=' {
				out = append(out, ltok{'o', s[i : i+2]})
				i += 2
			} else {
				out = append(out, ltok{'o', s[i : i+1]})
				i++
			}
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r,()<>!=", rune(s[j])) {
				j++
			}
			out = append(out, ltok{'i', s[i:j]})
			i = j
		}
	}
	return append(out, ltok{})
}

func parseLabelSelector(s string) (labelSelector, error) {
	toks := lexLabels(s)
	pos := 0
	peek := func() ltok { return toks[pos] }
	next := func() ltok { t := toks[pos]; pos++; return t }
	fail := func(what string) error {
		t := peek()
		found := t.s
		if t.kind == 0 {
			found = "EOS"
		}
		return fmt.Errorf("unable to parse requirement: found '%s', expected: %s", found, what)
	}
	var sel labelSelector
	if peek().kind == 0 {
		return sel, nil
	}
	for {
		var r labelReq
		if t := peek(); t.kind == 'o' && t.s == "!" {
			next()
			if peek().kind != 'i' {
				return nil, fail("identifier")
			}
			r = labelReq{key: next().s, op: "!"}
		} else {
			if t.kind != 'i' {
				return nil, fail("identifier")
			}
			r.key = next().s
			t := peek()
			switch {
			case t.kind == 0 || (t.kind == 'o' && t.s == ","):
				r.op = "exists"
			case t.kind == 'o' && (t.s == "=" || t.s == "==" || t.s == "!="):
				next()
				r.op = "="
				if t.s == "!=" {
					r.op = "!="
				}
				v := ""
				if peek().kind == 'i' {
					v = next().s
				}
				r.vals = []string{v}
			case t.kind == 'i' && (t.s == "in" || t.s == "notin"):
				next()
				r.op = t.s
				if p := next(); p.kind != 'o' || p.s != "(" {
					pos--
					return nil, fail("'('")
				}
				for {
					v := ""
					if peek().kind == 'i' {
						v = next().s
					}
					r.vals = append(r.vals, v)
					p := next()
					if p.kind == 'o' && p.s == ")" {
						break
					}
					if p.kind != 'o' || p.s != "," {
						pos--
						return nil, fail("',' or ')'")
					}
				}
			case t.kind == 'o' && (t.s == ">" || t.s == "<"):
				next()
				r.op = "gt"
				if t.s == "<" {
					r.op = "lt"
				}
				if peek().kind != 'i' {
					return nil, fail("integer")
				}
				v := next().s
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					return nil, fmt.Errorf("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
				}
				r.vals = []string{v}
			default:
				return nil, fail("'=', '!=', '==', 'in', notin'")
			}
		}
		if err := validLabelKey(r.key); err != nil {
			return nil, fmt.Errorf("unable to parse requirement: %v", err)
		}
		if r.op != "gt" && r.op != "lt" {
			for _, v := range r.vals {
				if err := validLabelValue(v); err != nil {
					return nil, fmt.Errorf("unable to parse requirement: %v", err)
				}
			}
		}
		sel = append(sel, r)
		t := next()
		if t.kind == 0 {
			return sel, nil
		}
		if t.kind != 'o' || t.s != "," {
			pos--
			return nil, fail("','")
		}
	}
}

func (ls labelSelector) matches(lbls map[string]string) bool {
	for _, r := range ls {
		v, has := lbls[r.key]
		in := func() bool {
			for _, x := range r.vals {
				if x == v {
					return true
				}
			}
			return false
		}
		var ok bool
		switch r.op {
		case "exists":
			ok = has
		case "!":
			ok = !has
		case "=", "in":
			ok = has && in()
		case "!=", "notin":
			// Absent keys satisfy negative requirements.
			ok = !has || !in()
		case "gt", "lt":
			n, err := strconv.ParseInt(v, 10, 64)
			want, _ := strconv.ParseInt(r.vals[0], 10, 64)
			ok = has && err == nil && ((r.op == "gt" && n > want) || (r.op == "lt" && n < want))
		}
		if !ok {
			return false
		}
	}
	return true
}

// Field selectors follow apimachinery fields.ParseSelector: terms split on
// unescaped ',', each "field=v", "field==v" or "field!=v", with '\'
// escaping ',', '=' and '\' in values.

type fieldReq struct {
	field string
	neq   bool
	val   string
}

type fieldSelector []fieldReq

func splitTerms(s string) []string {
	var terms []string
	start := 0
	esc := false
	for i := 0; i < len(s); i++ {
		switch {
		case esc:
			esc = false
		case s[i] == '\\':
			esc = true
		case s[i] == ',':
			terms = append(terms, s[start:i])
			start = i + 1
		}
	}
	return append(terms, s[start:])
}

func unescapeFieldValue(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			if i+1 >= len(s) {
				return "", fmt.Errorf("invalid field selector: %q: trailing backslash", s)
			}
			i++
			switch s[i] {
			case '\\', ',', '=':
				b.WriteByte(s[i])
			default:
				return "", fmt.Errorf("invalid field selector: %q: invalid escape sequence", s)
			}
			continue
		}
		if c == ',' || c == '=' {
			return "", fmt.Errorf("invalid field selector: %q: unescaped %q", s, c)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func parseFieldSelector(s string, res *resType) (fieldSelector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var sel fieldSelector
	for _, term := range splitTerms(s) {
		lhs, op, rhs := "", "", ""
		esc := false
	scan:
		for i := 0; i < len(term); i++ {
			if esc {
				esc = false
				continue
			}
			if term[i] == '\\' {
				esc = true
				continue
			}
			for _, o := range []string{"!=", "==", "="} {
				if strings.HasPrefix(term[i:], o) {
					lhs, op, rhs = term[:i], o, term[i+len(o):]
					break scan
				}
			}
		}
		if op == "" {
			return nil, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", s, term)
		}
		val, err := unescapeFieldValue(rhs)
		if err != nil {
			return nil, err
		}
		if !fieldSupported(res, lhs) {
			// The apiserver's field label conversion rejects unknown
			// fields with a 400; clients must not expect match-all.
			return nil, fmt.Errorf("field label not supported: %s", lhs)
		}
		sel = append(sel, fieldReq{field: lhs, neq: op == "!=", val: val})
	}
	return sel, nil
}

func fieldSupported(res *resType, f string) bool {
	if f == "metadata.name" || (f == "metadata.namespace" && res.Namespaced) {
		return true
	}
	for _, x := range res.Fields {
		if x == f {
			return true
		}
	}
	return false
}

func (fs fieldSelector) matches(o *object) bool {
	for _, r := range fs {
		var v string
		switch r.field {
		case "metadata.name":
			v = o.key.name
		case "metadata.namespace":
			v = o.key.ns
		default:
			v = o.field(r.field)
		}
		if (v == r.val) == r.neq {
			return false
		}
	}
	return true
}

// filter is what a LIST or WATCH request selects: namespace and selectors.
type filter struct {
	ns string
	ls labelSelector
	fs fieldSelector
}

func (f *filter) matches(o *object) bool {
	if f.ns != "" && o.key.ns != f.ns {
		return false
	}
	return f.ls.matches(o.labels()) && f.fs.matches(o)
}

func (f *filter) selecting() bool { return len(f.ls) > 0 || len(f.fs) > 0 }
