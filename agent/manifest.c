// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Manifest files into json-c trees: YAML through libyaml's event API, JSON
 * through json-c's tokener, both ending in the same per-document checks and
 * List flattening.
 *
 * Choices the interface leaves open:
 * - Scalars resolve by the YAML 1.2 core schema (0755 is decimal 755, "yes"
 *   is a string), not go-yaml v2's 1.1 rules that kubectl applies.
 * - Merge keys (<<) are an error: ignoring one would silently drop fields,
 *   and keeping "<<" as a key would invent a field nobody wrote.
 * - Aliases cannot be mapping keys and an anchor is only visible once its
 *   node is complete, so a node can never contain itself.
 * - Tags on collections are ignored; unknown tags on scalars keep the text.
 * - A document whose root is null (empty, comments only, "~") is skipped.
 * - A kind ending in "List" is flattened when "items" is an array or null
 *   (Go encodes an empty slice as null); without "items" it is an ordinary
 *   object. apiVersion and kind must be non-empty strings.
 * - Only UTF-8 is accepted: a NUL byte (which UTF-16/32 text always has) is
 *   an error before either parser runs, and a leading UTF-8 BOM is skipped.
 * - JSON must hold exactly one value: an empty JSON file is an error.
 */
#include "manifest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct pos {
	int line; /* 1-based, 0 when unknown */
	int col;
};

/* The objects handed back, each holding its own reference. */
struct out {
	json_object **objs;
	size_t n, cap;
};

struct anchor {
	json_object *node; /* our reference; NULL for a null scalar */
	size_t nodes;	   /* what each expansion costs in the budget */
	int height;	   /* collection levels it adds where it is used */
};

/* A collection still being built. */
struct frame {
	json_object *node;
	char *key;    /* mapping: the key whose value comes next */
	char *anchor; /* registered once the collection is complete */
	size_t nodes_before;
	int height;    /* deepest child, in collection levels */
	bool is_map;
	bool is_items; /* the root mapping's "items": record item positions */
};

struct yparser {
	yaml_parser_t yaml;
	const char *buf;
	size_t len;
	struct sl_manifest_error *err;
	struct out *out;

	size_t nodes; /* every node and key of the file, aliases expanded */
	int doc;      /* 1-based index of the current document */

	/* The current document. */
	struct frame stack[SL_MANIFEST_MAX_DEPTH];
	int sp;
	json_object *root;
	struct pos root_pos;
	struct pos *item_pos;
	size_t n_items, cap_items;
	json_object *anchor_index; /* name -> index into anchors */
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
};

static __attribute__((format(printf, 3, 4))) int
fail(struct sl_manifest_error *err, struct pos at, const char *fmt, ...)
{
	va_list ap;

	err->line = at.line;
	err->column = at.col;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_oom(struct sl_manifest_error *err)
{
	return fail(err, (struct pos){ 0, 0 }, "out of memory");
}

/* Line and column (in characters, like libyaml's marks) of a byte offset. */
static struct pos offset_pos(const char *buf, size_t len, size_t off)
{
	struct pos p = { 1, 1 };

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			p.line++;
			p.col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

static struct pos mark_pos(yaml_mark_t m)
{
	/* Inputs are capped at 64 MiB, so both fit an int. */
	return (struct pos){ (int)m.line + 1, (int)m.column + 1 };
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < need)
		ncap = need;
	p = reallocarray(*arr, ncap, size);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- per-document checks, shared by YAML and JSON ------------------------ */

static bool is_str(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !memcmp(s, lit, n);
}

static const char *string_member(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !json_object_get_string_len(v))
		return NULL;
	return json_object_get_string(v);
}

/*
 * "kind: List" and typed lists (PodList, ...) carry their objects in items.
 * Returns 1 for a List (*items NULL when it is null), 0 for any other object
 * and -1 for a List whose items is not a list.
 */
static int list_items(json_object *obj, json_object **items)
{
	const char *kind = string_member(obj, "kind");
	size_t n = kind ? strlen(kind) : 0;

	if (n < 4 || strcmp(kind + n - 4, "List") ||
	    !json_object_object_get_ex(obj, "items", items))
		return 0;
	return !*items || json_object_is_type(*items, json_type_array) ? 1 :
									 -1;
}

static const char *type_desc(json_object *obj)
{
	switch (json_object_get_type(obj)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
	case json_type_double:
		return "a number";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "a list";
	default:
		return "an object";
	}
}

static int check_object(json_object *obj, int doc, const char *what,
			struct pos at, struct sl_manifest_error *err)
{
	if (!json_object_is_type(obj, json_type_object))
		return fail(err, at, "document %d: %s is %s, not an object",
			    doc, what, type_desc(obj));
	if (!string_member(obj, "apiVersion"))
		return fail(err, at,
			    "document %d: %s has no apiVersion string", doc,
			    what);
	if (!string_member(obj, "kind"))
		return fail(err, at, "document %d: %s has no kind string", doc,
			    what);
	return 0;
}

static int push_object(struct out *out, json_object *obj,
		       struct sl_manifest_error *err)
{
	if (grow((void **)&out->objs, &out->cap, out->n + 1,
		 sizeof(*out->objs)))
		return fail_oom(err);
	out->objs[out->n++] = json_object_get(obj);
	return 0;
}

/*
 * Check one document and add what it contributes. @item_pos, when known,
 * holds where each element of a List's items starts.
 */
static int add_document(struct out *out, json_object *doc, int idx,
			struct pos at, const struct pos *item_pos,
			size_t n_item_pos, struct sl_manifest_error *err)
{
	json_object *items;
	size_t n;
	int r;

	if (check_object(doc, idx, "the document", at, err))
		return -1;
	r = list_items(doc, &items);
	if (r < 0)
		return fail(err, at, "document %d: the List's items is %s",
			    idx, type_desc(items));
	if (!r)
		return push_object(out, doc, err);

	n = items ? json_object_array_length(items) : 0;
	/* Check every item first so a bad one leaves nothing half-added. */
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(items, i), *sub;
		struct pos ipos = i < n_item_pos ? item_pos[i] :
						   (struct pos){ 0, 0 };
		char what[32];

		snprintf(what, sizeof(what), "items[%zu]", i);
		if (check_object(item, idx, what, ipos, err))
			return -1;
		if (list_items(item, &sub))
			return fail(err, ipos,
				    "document %d: items[%zu] is itself a List",
				    idx, i);
	}
	for (size_t i = 0; i < n; i++)
		if (push_object(out, json_object_array_get_idx(items, i), err))
			return -1;
	return 0;
}

/* ---- YAML scalars: the 1.2 core schema ----------------------------------- */

static bool is_null(const char *s, size_t n)
{
	return n == 0 || is_str(s, n, "~") || is_str(s, n, "null") ||
	       is_str(s, n, "Null") || is_str(s, n, "NULL");
}

static int parse_bool(const char *s, size_t n, bool *b)
{
	if (is_str(s, n, "true") || is_str(s, n, "True") ||
	    is_str(s, n, "TRUE"))
		*b = true;
	else if (is_str(s, n, "false") || is_str(s, n, "False") ||
		 is_str(s, n, "FALSE"))
		*b = false;
	else
		return -EINVAL;
	return 0;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+. Returns 0, -EINVAL when @s is
 * not an integer at all, -ERANGE when it is one that does not fit.
 */
static int parse_int(const char *s, size_t n, int64_t *v, bool *decimal)
{
	unsigned int base = 10;
	uint64_t acc = 0, lim;
	bool neg = false, range = false;
	size_t i = 0;

	*decimal = true;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		base = s[1] == 'x' ? 16 : 8;
		*decimal = false;
		i = 2;
	} else if (n && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return -EINVAL;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	/* Keep scanning past an overflow: "999...9x" is a string. */
	for (; i < n; i++) {
		unsigned int d = (unsigned int)digit_value(s[i]);

		if (d >= base)
			return -EINVAL;
		if (acc > (lim - d) / base)
			range = true;
		else
			acc = acc * base + d;
	}
	if (range)
		return -ERANGE;
	*v = neg ? -(int64_t)(acc - 1) - 1 : (int64_t)acc;
	return 0;
}

static size_t count_digits(const char *s, size_t n, size_t i)
{
	size_t start = i;

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i - start;
}

/*
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, [-+]?\.inf and \.nan
 * in their three spellings each.
 */
static int parse_float(const char *s, size_t n, double *d)
{
	size_t i = 0, before, after = 0;
	bool neg = false;

	if (is_str(s, n, ".nan") || is_str(s, n, ".NaN") ||
	    is_str(s, n, ".NAN")) {
		*d = NAN;
		return 0;
	}
	if (n && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (is_str(s + i, n - i, ".inf") || is_str(s + i, n - i, ".Inf") ||
	    is_str(s + i, n - i, ".INF")) {
		*d = neg ? -INFINITY : INFINITY;
		return 0;
	}
	before = count_digits(s, n, i);
	i += before;
	if (i < n && s[i] == '.') {
		after = count_digits(s, n, i + 1);
		i += 1 + after;
	}
	if (!before && !after)
		return -EINVAL;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp;

		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		exp = count_digits(s, n, i);
		if (!exp)
			return -EINVAL;
		i += exp;
	}
	if (i != n)
		return -EINVAL;
	/*
	 * libyaml terminates scalar values and the whole text matched, so
	 * strtod reads exactly it. The agent never calls setlocale(), so the
	 * radix is '.'.
	 */
	*d = strtod(s, NULL);
	return 0;
}

/*
 * The json-c node for a scalar value; *node is NULL for null. Returns 0, or
 * -1 with *why set when an explicit tag does not fit the text.
 */
static int resolve_scalar(const yaml_event_t *ev, json_object **node,
			  const char **why)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t n = ev->data.scalar.length;
	bool b, decimal;
	int64_t i;
	double d;
	int r;

	*node = NULL;
	*why = "out of memory";
	if (tag && !strcmp(tag, YAML_NULL_TAG)) {
		if (!is_null(s, n))
			return *why = "!!null value is not null", -1;
		return 0;
	} else if (tag && !strcmp(tag, YAML_BOOL_TAG)) {
		if (parse_bool(s, n, &b))
			return *why = "!!bool value is not true or false", -1;
		*node = json_object_new_boolean(b);
	} else if (tag && !strcmp(tag, YAML_INT_TAG)) {
		r = parse_int(s, n, &i, &decimal);
		if (r == -ERANGE)
			return *why = "!!int value out of range", -1;
		if (r)
			return *why = "!!int value is not an integer", -1;
		*node = json_object_new_int64(i);
	} else if (tag && !strcmp(tag, YAML_FLOAT_TAG)) {
		if (parse_float(s, n, &d))
			return *why = "!!float value is not a number", -1;
		*node = json_object_new_double(d);
	} else if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		/* !!str, unknown tags, quoted and block scalars: text. */
		*node = json_object_new_string_len(s, (int)n);
	} else if (is_null(s, n)) {
		return 0;
	} else if (!parse_bool(s, n, &b)) {
		*node = json_object_new_boolean(b);
	} else if ((r = parse_int(s, n, &i, &decimal)) == 0) {
		*node = json_object_new_int64(i);
	} else if (r == -ERANGE && decimal && isfinite(d = strtod(s, NULL))) {
		/* As a JSON number too large for int64 would: a double. */
		*node = json_object_new_double(d);
	} else if (r != -ERANGE && !parse_float(s, n, &d)) {
		*node = json_object_new_double(d);
	} else {
		*node = json_object_new_string_len(s, (int)n);
	}
	return *node ? 0 : -1;
}

/* ---- YAML structure ------------------------------------------------------ */

static struct frame *top(struct yparser *p)
{
	return p->sp ? &p->stack[p->sp - 1] : NULL;
}

static bool at_key(struct yparser *p)
{
	struct frame *f = top(p);

	return f && f->is_map && !f->key;
}

/* Charge @k nodes to the file's budget. */
static int charge(struct yparser *p, size_t k, struct pos at)
{
	if (k > SL_MANIFEST_MAX_NODES - p->nodes)
		return fail(p->err, at,
			    "more than %u nodes (aliases included) in the file",
			    SL_MANIFEST_MAX_NODES);
	p->nodes += k;
	return 0;
}

/* Where a value node starts: the document's root, or one of its items. */
static int note_start(struct yparser *p, struct pos at)
{
	struct frame *f = top(p);

	if (!f) {
		p->root_pos = at;
		return 0;
	}
	if (!f->is_items)
		return 0;
	if (grow((void **)&p->item_pos, &p->cap_items, p->n_items + 1,
		 sizeof(*p->item_pos)))
		return fail_oom(p->err);
	p->item_pos[p->n_items++] = at;
	return 0;
}

/* Hand a complete node (owned by the caller until now) to its parent. */
static int attach(struct yparser *p, json_object *node, int height)
{
	struct frame *f = top(p);
	int r;

	if (!f) {
		p->root = node;
		return 0;
	}
	if (height > f->height)
		f->height = height;
	if (f->is_map) {
		/* The key was checked for duplicates when it arrived. */
		r = json_object_object_add_ex(f->node, f->key, node,
					      JSON_C_OBJECT_ADD_KEY_IS_NEW);
		free(f->key);
		f->key = NULL;
	} else {
		r = json_object_array_add(f->node, node);
	}
	if (r) {
		json_object_put(node);
		return fail_oom(p->err);
	}
	return 0;
}

static int add_anchor(struct yparser *p, const char *name, json_object *node,
		      size_t nodes, int height)
{
	json_object *idx;

	if (!p->anchor_index && !(p->anchor_index = json_object_new_object()))
		return fail_oom(p->err);
	if (grow((void **)&p->anchors, &p->cap_anchors, p->n_anchors + 1,
		 sizeof(*p->anchors)))
		return fail_oom(p->err);
	/* Redefining a name is legal YAML; later aliases see the new node. */
	idx = json_object_new_int((int)p->n_anchors);
	if (!idx || json_object_object_add(p->anchor_index, name, idx)) {
		json_object_put(idx);
		return fail_oom(p->err);
	}
	p->anchors[p->n_anchors++] = (struct anchor){
		.node = json_object_get(node),
		.nodes = nodes,
		.height = height,
	};
	return 0;
}

static int on_key(struct yparser *p, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	struct pos at = mark_pos(ev->start_mark);
	struct frame *f = top(p);

	/* json-c keys are C strings; "a\0b" would silently become "a". */
	if (memchr(s, '\0', n))
		return fail(p->err, at, "mapping key contains a NUL character");
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    !ev->data.scalar.tag && is_str(s, n, "<<"))
		return fail(p->err, at, "merge keys (<<) are not supported");
	if (json_object_object_get_ex(f->node, s, NULL))
		return fail(p->err, at, "duplicate key \"%.64s\"", s);
	if (charge(p, 1, at))
		return -1;
	if (ev->data.scalar.anchor) {
		json_object *node;
		const char *why;
		int r;

		if (resolve_scalar(ev, &node, &why))
			return fail(p->err, at, "%s", why);
		r = add_anchor(p, (const char *)ev->data.scalar.anchor, node,
			       1, 0);
		json_object_put(node);
		if (r)
			return -1;
	}
	f->key = strndup(s, n);
	return f->key ? 0 : fail_oom(p->err);
}

static int on_scalar(struct yparser *p, const yaml_event_t *ev)
{
	struct pos at = mark_pos(ev->start_mark);
	json_object *node;
	const char *why;

	if (at_key(p))
		return on_key(p, ev);
	if (note_start(p, at) || charge(p, 1, at))
		return -1;
	if (resolve_scalar(ev, &node, &why))
		return fail(p->err, at, "%s", why);
	if (ev->data.scalar.anchor &&
	    add_anchor(p, (const char *)ev->data.scalar.anchor, node, 1, 0)) {
		json_object_put(node);
		return -1;
	}
	return attach(p, node, 0);
}

static int on_alias(struct yparser *p, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct pos at = mark_pos(ev->start_mark);
	json_object *idx, *copy = NULL;
	struct anchor *a;

	if (at_key(p))
		return fail(p->err, at, "aliases cannot be mapping keys");
	if (!p->anchor_index ||
	    !json_object_object_get_ex(p->anchor_index, name, &idx))
		return fail(p->err, at, "unknown anchor \"%.64s\"", name);
	a = &p->anchors[json_object_get_int(idx)];
	if (p->sp + a->height > SL_MANIFEST_MAX_DEPTH)
		return fail(p->err, at,
			    "alias *%.64s nests deeper than %d levels", name,
			    SL_MANIFEST_MAX_DEPTH);
	if (note_start(p, at) || charge(p, a->nodes, at))
		return -1;
	/* A copy, so that a consumer changing one place changes only it. */
	if (a->node && json_object_deep_copy(a->node, &copy, NULL))
		return fail_oom(p->err);
	return attach(p, copy, a->height);
}

static int on_start(struct yparser *p, const yaml_event_t *ev, bool is_map)
{
	const char *anchor = (const char *)(is_map ?
					    ev->data.mapping_start.anchor :
					    ev->data.sequence_start.anchor);
	struct pos at = mark_pos(ev->start_mark);
	struct frame *parent = top(p), *f;
	size_t before = p->nodes;

	if (at_key(p))
		return fail(p->err, at, "mapping keys must be scalars");
	if (p->sp == SL_MANIFEST_MAX_DEPTH)
		return fail(p->err, at, "nested deeper than %d levels",
			    SL_MANIFEST_MAX_DEPTH);
	if (note_start(p, at) || charge(p, 1, at))
		return -1;

	f = &p->stack[p->sp];
	*f = (struct frame){
		.node = is_map ? json_object_new_object() :
				 json_object_new_array(),
		.anchor = anchor ? strdup(anchor) : NULL,
		.nodes_before = before,
		.is_map = is_map,
		.is_items = !is_map && p->sp == 1 && parent->is_map &&
			    !strcmp(parent->key, "items"),
	};
	p->sp++;
	if (!f->node || (anchor && !f->anchor))
		return fail_oom(p->err);
	return 0;
}

static int on_end(struct yparser *p)
{
	struct frame f = p->stack[--p->sp];
	int height = f.height + 1, r = 0;

	free(f.key); /* libyaml always gives a key its value; defensive */
	if (f.anchor)
		r = add_anchor(p, f.anchor, f.node, p->nodes - f.nodes_before,
			       height);
	free(f.anchor);
	if (r) {
		json_object_put(f.node);
		return -1;
	}
	return attach(p, f.node, height);
}

static void reset_document(struct yparser *p)
{
	while (p->sp) {
		struct frame *f = &p->stack[--p->sp];

		json_object_put(f->node);
		free(f->key);
		free(f->anchor);
	}
	json_object_put(p->root);
	p->root = NULL;
	p->n_items = 0;
	/* Anchors are scoped to their document. */
	for (size_t i = 0; i < p->n_anchors; i++)
		json_object_put(p->anchors[i].node);
	p->n_anchors = 0;
	json_object_put(p->anchor_index);
	p->anchor_index = NULL;
}

static int on_document_end(struct yparser *p)
{
	int r = 0;

	if (p->root)
		r = add_document(p->out, p->root, p->doc, p->root_pos,
				 p->item_pos, p->n_items, p->err);
	reset_document(p);
	return r;
}

static int fail_yaml(struct yparser *p)
{
	const yaml_parser_t *y = &p->yaml;
	const char *problem = y->problem ? y->problem : "invalid YAML";

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		return fail_oom(p->err);
	case YAML_READER_ERROR:
		/* Bad encoding: libyaml knows the byte offset, not a mark. */
		return fail(p->err,
			    offset_pos(p->buf, p->len, y->problem_offset),
			    "%s", problem);
	default:
		if (y->context)
			return fail(p->err, mark_pos(y->problem_mark),
				    "%s, %s started on line %zu", problem,
				    y->context, y->context_mark.line + 1);
		return fail(p->err, mark_pos(y->problem_mark), "%s", problem);
	}
}

static int on_event(struct yparser *p, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		p->doc++;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		return on_document_end(p);
	case YAML_ALIAS_EVENT:
		return on_alias(p, ev);
	case YAML_SCALAR_EVENT:
		return on_scalar(p, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(p, ev, false);
	case YAML_MAPPING_START_EVENT:
		return on_start(p, ev, true);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(p);
	default:
		return 0;
	}
}

static int parse_yaml(const char *buf, size_t len, struct out *out,
		      struct sl_manifest_error *err)
{
	struct yparser p = {
		.buf = buf,
		.len = len,
		.err = err,
		.out = out,
	};
	yaml_event_t ev;
	bool done = false;
	int r = 0;

	if (!yaml_parser_initialize(&p.yaml))
		return fail_oom(err);
	yaml_parser_set_input_string(&p.yaml, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&p.yaml, YAML_UTF8_ENCODING);
	while (!done && !r) {
		if (!yaml_parser_parse(&p.yaml, &ev)) {
			r = fail_yaml(&p);
			break;
		}
		r = on_event(&p, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	reset_document(&p);
	free(p.anchors);
	free(p.item_pos);
	yaml_parser_delete(&p.yaml);
	return r;
}

/* ---- JSON ---------------------------------------------------------------- */

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t count_nodes(json_object *o)
{
	size_t n = 1;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v) {
			(void)key;
			n += 1 + count_nodes(v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t len = json_object_array_length(o);

		for (size_t i = 0; i < len; i++)
			n += count_nodes(json_object_array_get_idx(o, i));
	}
	return n;
}

static int parse_json(const char *buf, size_t len, struct out *out,
		      struct sl_manifest_error *err)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	size_t start = 0, end;
	json_object *obj;
	int r;

	/* Editors on Windows like to start files with one. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		start = 3;
	while (start < len && is_json_space(buf[start]))
		start++;
	if (start == len)
		return fail(err, offset_pos(buf, len, len),
			    "no JSON value in the file");

	/* Same depth limit as YAML: json-c allows exactly this many levels. */
	tok = json_tokener_new_ex(SL_MANIFEST_MAX_DEPTH);
	if (!tok)
		return fail_oom(err);
	/*
	 * Strict: no trailing commas or comments, which the API server would
	 * refuse (json-c still takes 'single quotes'). Trailing data is ours
	 * to report, with a clearer reason than json-c's.
	 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_ALLOW_TRAILING_CHARS |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf + start, (int)(len - start));
	jerr = json_tokener_get_error(tok);
	end = start + json_tokener_get_parse_end(tok);
	if (!obj && jerr == json_tokener_continue) {
		/* A number or literal at the very end needs a terminator. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success)
		return fail(err, offset_pos(buf, len, end), "%s",
			    json_tokener_error_desc(jerr));
	while (end < len && is_json_space(buf[end]))
		end++;
	if (end < len) {
		r = fail(err, offset_pos(buf, len, end),
			 "trailing data after the JSON value");
	} else if (obj && count_nodes(obj) > SL_MANIFEST_MAX_NODES) {
		r = fail(err, offset_pos(buf, len, start),
			 "more than %u nodes in the file",
			 SL_MANIFEST_MAX_NODES);
	} else {
		r = add_document(out, obj, 1, offset_pos(buf, len, start),
				 NULL, 0, err);
	}
	json_object_put(obj);
	return r;
}

/* ---- API ----------------------------------------------------------------- */

void sl_manifest_free(json_object **objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_object_put(objs[i]);
	free(objs);
}

/* See manifest.h. With no objects, *objs is NULL. */
int sl_manifest_parse(const char *buf, size_t len, bool is_json,
		      json_object ***objs, size_t *n,
		      struct sl_manifest_error *err)
{
	struct out out = { 0 };
	const char *nul;
	int r;

	memset(err, 0, sizeof(*err));
	*objs = NULL;
	*n = 0;
	if (len > SL_MANIFEST_MAX_BYTES)
		return fail(err, (struct pos){ 0, 0 },
			    "file is larger than %u bytes",
			    SL_MANIFEST_MAX_BYTES);
	if (!len)
		return is_json ? fail(err, (struct pos){ 1, 1 },
				      "no JSON value in the file") :
				 0;
	nul = memchr(buf, '\0', len);
	if (nul)
		return fail(err, offset_pos(buf, len, (size_t)(nul - buf)),
			    "NUL byte in the file (only UTF-8 is accepted)");

	r = is_json ? parse_json(buf, len, &out, err) :
		      parse_yaml(buf, len, &out, err);
	if (r) {
		sl_manifest_free(out.objs, out.n);
		return -1;
	}
	*objs = out.objs;
	*n = out.n;
	return 0;
}
