// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The manifest parser: YAML streams and JSON into Kubernetes objects, scalar
 * typing, Lists, anchors, limits, and where each error is reported. Every
 * failing case runs under LeakSanitizer, so an error path that forgets a
 * node fails the suite.
 */
#include "unit.h"
#include "manifest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static json_object **parse_ok(const char *s, bool is_json, size_t *n)
{
	struct sl_manifest_error err;
	json_object **objs = (json_object **)(uintptr_t)1;

	*n = 99;
	if (sl_manifest_parse(s, strlen(s), is_json, &objs, n, &err)) {
		print_error("unexpected error %d:%d: %s\n", err.line,
			    err.column, err.reason);
		fail();
	}
	if (*n)
		assert_non_null(objs);
	else
		assert_null(objs);
	return objs;
}

/* @col < 0: do not check the column. */
static void expect_error_len(const char *s, size_t len, bool is_json,
			     int line, int col, const char *reason)
{
	struct sl_manifest_error err;
	json_object **objs = (json_object **)(uintptr_t)1;
	size_t n = 99;

	assert_int_equal(sl_manifest_parse(s, len, is_json, &objs, &n, &err),
			 -1);
	/* All or nothing: the outputs are cleared, not left as passed. */
	assert_null(objs);
	assert_int_equal(n, 0);
	assert_true(err.reason[0] != '\0');
	if (!strstr(err.reason, reason)) {
		print_error("reason \"%s\" lacks \"%s\"\n", err.reason, reason);
		fail();
	}
	if (err.line != line || (col >= 0 && err.column != col)) {
		print_error("error at %d:%d, expected %d:%d (%s)\n", err.line,
			    err.column, line, col, err.reason);
		fail();
	}
}

static void expect_error(const char *s, bool is_json, int line, int col,
			 const char *reason)
{
	expect_error_len(s, strlen(s), is_json, line, col, reason);
}

/* "a.b.0.c": members by name, array elements by index. */
static json_object *dig(json_object *o, const char *path)
{
	char buf[256], *save = NULL, *seg;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg && o;
	     seg = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, strtoul(seg, NULL,
								 10));
		else if (!json_object_object_get_ex(o, seg, &o))
			o = NULL;
	}
	return o;
}

static const char *dig_str(json_object *o, const char *path)
{
	json_object *v = dig(o, path);

	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void assert_int_at(json_object *o, const char *path, int64_t want)
{
	json_object *v = dig(o, path);

	assert_true(json_object_is_type(v, json_type_int));
	assert_true(json_object_get_int64(v) == want);
}

static void assert_double_at(json_object *o, const char *path, double want)
{
	json_object *v = dig(o, path);

	assert_true(json_object_is_type(v, json_type_double));
	assert_true(json_object_get_double(v) == want);
}

static void assert_bool_at(json_object *o, const char *path, bool want)
{
	json_object *v = dig(o, path);

	assert_true(json_object_is_type(v, json_type_boolean));
	assert_int_equal(json_object_get_boolean(v), want);
}

/* Present and null, not merely absent. */
static void assert_null_member(json_object *o, const char *key)
{
	json_object *v = o;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_null(v);
}

/* Keys with dots in them (label names) cannot go through dig(). */
static const char *member_str(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static const char three_docs[] =
	"# A pod, its namespace and the node it runs on.\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata:\n"
	"  name: web-7d4b9c\n"
	"  namespace: shop\n"
	"  labels:\n"
	"    app: web\n"
	"    pod-template-hash: \"7d4b9c\"\n"
	"spec:\n"
	"  nodeName: worker-1\n"
	"  containers:\n"
	"  - name: nginx\n"
	"    image: nginx:1.25\n"
	"    ports:\n"
	"    - containerPort: 80\n"
	"      protocol: TCP\n"
	"status:\n"
	"  phase: Running\n"
	"  podIP: 10.244.1.17\n"
	"  podIPs:\n"
	"  - ip: 10.244.1.17\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Namespace\n"
	"metadata:\n"
	"  name: shop\n"
	"  labels: {kubernetes.io/metadata.name: shop}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Node\n"
	"metadata:\n"
	"  name: worker-1\n"
	"  labels:\n"
	"    kubernetes.io/hostname: worker-1\n"
	"    node-role.kubernetes.io/worker: \"\"\n"
	"spec:\n"
	"  podCIDR: 10.244.1.0/24\n"
	"  podCIDRs: [10.244.1.0/24]\n"
	"status:\n"
	"  addresses:\n"
	"  - type: InternalIP\n"
	"    address: 192.168.49.3\n"
	"  - type: Hostname\n"
	"    address: worker-1\n";

static void test_multi_document(void **state)
{
	json_object **o;
	size_t n;

	(void)state;
	o = parse_ok(three_docs, false, &n);
	assert_int_equal(n, 3);
	assert_string_equal(dig_str(o[0], "kind"), "Pod");
	assert_string_equal(dig_str(o[0], "metadata.labels.app"), "web");
	assert_string_equal(dig_str(o[0], "metadata.labels.pod-template-hash"),
			    "7d4b9c");
	assert_string_equal(dig_str(o[0], "status.podIP"), "10.244.1.17");
	assert_string_equal(dig_str(o[0], "status.podIPs.0.ip"), "10.244.1.17");
	assert_int_at(o[0], "spec.containers.0.ports.0.containerPort", 80);
	assert_string_equal(dig_str(o[1], "kind"), "Namespace");
	assert_string_equal(member_str(dig(o[1], "metadata.labels"),
				       "kubernetes.io/metadata.name"),
			    "shop");
	assert_string_equal(dig_str(o[2], "kind"), "Node");
	assert_string_equal(dig_str(o[2], "spec.podCIDR"), "10.244.1.0/24");
	assert_string_equal(dig_str(o[2], "spec.podCIDRs.0"), "10.244.1.0/24");
	assert_string_equal(dig_str(o[2], "status.addresses.0.type"),
			    "InternalIP");
	assert_string_equal(dig_str(o[2], "status.addresses.0.address"),
			    "192.168.49.3");
	assert_string_equal(dig_str(o[2], "status.addresses.1.address"),
			    "worker-1");
	/* Quoted, an empty label value is "" (plain, it would be null). */
	assert_string_equal(member_str(dig(o[2], "metadata.labels"),
				       "node-role.kubernetes.io/worker"),
			    "");
	sl_manifest_free(o, n);
}

static void test_list_yaml(void **state)
{
	json_object **o;
	size_t n;

	(void)state;
	o = parse_ok("apiVersion: v1\n"
		     "kind: List\n"
		     "metadata: {}\n"
		     "items:\n"
		     "- apiVersion: v1\n"
		     "  kind: Namespace\n"
		     "  metadata: {name: a}\n"
		     "- apiVersion: networking.k8s.io/v1\n"
		     "  kind: NetworkPolicy\n"
		     "  metadata: {name: deny, namespace: a}\n"
		     "  spec: {podSelector: {}, policyTypes: [Ingress]}\n"
		     "---\n"
		     "apiVersion: v1\n"
		     "kind: PodList\n"
		     "items: []\n"
		     "---\n"
		     "apiVersion: v1\n"
		     "kind: Namespace\n"
		     "metadata: {name: b}\n",
		     false, &n);
	/* Items in order, then the next document; an empty PodList adds 0. */
	assert_int_equal(n, 3);
	assert_string_equal(dig_str(o[0], "metadata.name"), "a");
	assert_string_equal(dig_str(o[1], "kind"), "NetworkPolicy");
	assert_string_equal(dig_str(o[1], "spec.policyTypes.0"), "Ingress");
	assert_string_equal(dig_str(o[2], "metadata.name"), "b");
	sl_manifest_free(o, n);

	/* A "List" kind without items is an ordinary object. */
	o = parse_ok("apiVersion: example.com/v1\nkind: ShoppingList\n", false,
		     &n);
	assert_int_equal(n, 1);
	assert_string_equal(dig_str(o[0], "kind"), "ShoppingList");
	sl_manifest_free(o, n);

	/* items: null is how Go writes an empty slice. */
	o = parse_ok("apiVersion: v1\nkind: List\nitems: null\n", false, &n);
	assert_int_equal(n, 0);
}

static void test_list_json(void **state)
{
	json_object **o;
	size_t n;

	(void)state;
	o = parse_ok("{\"apiVersion\": \"v1\", \"kind\": \"List\",\n"
		     " \"items\": [\n"
		     "  {\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n"
		     "   \"metadata\": {\"name\": \"p\",\n"
		     "                \"labels\": {\"app\": \"x\"}},\n"
		     "   \"status\": {\"podIP\": \"10.244.0.5\"}},\n"
		     "  {\"apiVersion\": \"v1\", \"kind\": \"Node\",\n"
		     "   \"metadata\": {\"name\": \"n1\"},\n"
		     "   \"spec\": {\"podCIDR\": \"10.244.0.0/24\"}}\n"
		     " ]}\n",
		     true, &n);
	assert_int_equal(n, 2);
	assert_string_equal(dig_str(o[0], "status.podIP"), "10.244.0.5");
	assert_string_equal(dig_str(o[1], "spec.podCIDR"), "10.244.0.0/24");
	sl_manifest_free(o, n);

	/* One plain object, after a UTF-8 BOM and whitespace. */
	o = parse_ok("\xef\xbb\xbf \n{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
		     "\"spec\":{\"x\":1.5,\"y\":-3,\"z\":[true,null]}}\n\n",
		     true, &n);
	assert_int_equal(n, 1);
	assert_double_at(o[0], "spec.x", 1.5);
	assert_int_at(o[0], "spec.y", -3);
	assert_bool_at(o[0], "spec.z.0", true);
	assert_int_equal(json_object_array_length(dig(o[0], "spec.z")), 2);
	assert_null(dig(o[0], "spec.z.1"));
	sl_manifest_free(o, n);
}

static void test_scalars(void **state)
{
	json_object **o, *s;
	size_t n;

	(void)state;
	o = parse_ok("apiVersion: v1\n"
		     "kind: ConfigMap\n"
		     "metadata:\n"
		     "  labels: {version: \"123\", tier: '42', plain: 123}\n"
		     "s:\n"
		     "  n1: null\n  n2: Null\n  n3: NULL\n  n4: ~\n  n5:\n"
		     "  b1: true\n  b2: True\n  b3: TRUE\n"
		     "  b4: false\n  b5: False\n  b6: FALSE\n"
		     "  q1: \"true\"\n  q2: 'null'\n  q3: \"12\"\n"
		     "  yes: yes\n  on: off\n"
		     "  i1: -12\n  i2: +7\n  i3: 0755\n  i4: 0x1F\n  i5: 0o17\n"
		     "  i6: 9223372036854775807\n  i7: -9223372036854775808\n"
		     "  i8: 0\n"
		     "  big: 99999999999999999999\n"
		     "  bighex: 0x10000000000000000\n"
		     "  f1: 1e3\n  f2: 1.5\n  f3: -.5\n  f4: 2.\n"
		     "  f5: 6.02E+23\n"
		     "  f6: .inf\n  f7: -.Inf\n  f8: +.INF\n  f9: .nan\n"
		     "  s1: 1_000\n  s2: 12:30\n  s3: 0x\n  s4: 1e\n  s5: .\n"
		     "  s6: 10.244.0.0/16\n  s7: -x\n  s8: 0o8\n"
		     "  t1: !!str 12\n  t2: !!int \"42\"\n  t3: !!float 1\n"
		     "  t4: !!bool \"false\"\n  t5: !!null ''\n"
		     "  t6: !custom 17\n  t7: ! 17\n  t8: !!binary aGk=\n",
		     false, &n);
	assert_int_equal(n, 1);
	s = dig(o[0], "s");

	/* Quoted numbers in labels stay strings; plain ones do not. */
	assert_string_equal(dig_str(o[0], "metadata.labels.version"), "123");
	assert_string_equal(dig_str(o[0], "metadata.labels.tier"), "42");
	assert_int_at(o[0], "metadata.labels.plain", 123);

	for (int i = 1; i <= 5; i++) {
		char k[16];

		snprintf(k, sizeof(k), "n%d", i);
		assert_null_member(s, k);
	}
	assert_bool_at(s, "b1", true);
	assert_bool_at(s, "b2", true);
	assert_bool_at(s, "b3", true);
	assert_bool_at(s, "b4", false);
	assert_bool_at(s, "b5", false);
	assert_bool_at(s, "b6", false);
	assert_string_equal(dig_str(s, "q1"), "true");
	assert_string_equal(dig_str(s, "q2"), "null");
	assert_string_equal(dig_str(s, "q3"), "12");
	/* YAML 1.1 booleans are plain strings in the 1.2 core schema. */
	assert_string_equal(dig_str(s, "yes"), "yes");
	assert_string_equal(dig_str(s, "on"), "off");

	assert_int_at(s, "i1", -12);
	assert_int_at(s, "i2", 7);
	assert_int_at(s, "i3", 755); /* 1.2: decimal; 1.1 would say 493 */
	assert_int_at(s, "i4", 31);
	assert_int_at(s, "i5", 15);
	assert_int_at(s, "i6", INT64_MAX);
	assert_int_at(s, "i7", INT64_MIN);
	assert_int_at(s, "i8", 0);
	assert_double_at(s, "big", 1e20);
	assert_string_equal(dig_str(s, "bighex"), "0x10000000000000000");

	assert_double_at(s, "f1", 1000.0);
	assert_double_at(s, "f2", 1.5);
	assert_double_at(s, "f3", -0.5);
	assert_double_at(s, "f4", 2.0);
	assert_double_at(s, "f5", 6.02e23);
	assert_double_at(s, "f6", INFINITY);
	assert_double_at(s, "f7", -INFINITY);
	assert_double_at(s, "f8", INFINITY);
	assert_true(json_object_is_type(dig(s, "f9"), json_type_double));
	assert_true(isnan(json_object_get_double(dig(s, "f9"))));

	assert_string_equal(dig_str(s, "s1"), "1_000");
	assert_string_equal(dig_str(s, "s2"), "12:30");
	assert_string_equal(dig_str(s, "s3"), "0x");
	assert_string_equal(dig_str(s, "s4"), "1e");
	assert_string_equal(dig_str(s, "s5"), ".");
	assert_string_equal(dig_str(s, "s6"), "10.244.0.0/16");
	assert_string_equal(dig_str(s, "s7"), "-x");
	assert_string_equal(dig_str(s, "s8"), "0o8");

	assert_string_equal(dig_str(s, "t1"), "12");
	assert_int_at(s, "t2", 42);
	assert_double_at(s, "t3", 1.0);
	assert_bool_at(s, "t4", false);
	assert_null_member(s, "t5");
	assert_string_equal(dig_str(s, "t6"), "17");
	assert_string_equal(dig_str(s, "t7"), "17");
	assert_string_equal(dig_str(s, "t8"), "aGk=");
	sl_manifest_free(o, n);
}

static void test_keys_are_strings(void **state)
{
	json_object **o;
	size_t n;

	(void)state;
	o = parse_ok("apiVersion: v1\nkind: X\n"
		     "m: {1: a, true: b, null: c, 0x10: d, \"q\": e}\n",
		     false, &n);
	assert_int_equal(n, 1);
	/* The key's text, untyped: what JSON object keys have to be. */
	assert_string_equal(dig_str(o[0], "m.1"), "a");
	assert_string_equal(dig_str(o[0], "m.true"), "b");
	assert_string_equal(dig_str(o[0], "m.null"), "c");
	assert_string_equal(dig_str(o[0], "m.0x10"), "d");
	assert_string_equal(dig_str(o[0], "m.q"), "e");
	sl_manifest_free(o, n);
}

static void test_block_scalars(void **state)
{
	json_object **o;
	size_t n;

	(void)state;
	o = parse_ok("apiVersion: v1\n"
		     "kind: ConfigMap\n"
		     "data:\n"
		     "  script: |\n"
		     "    #!/bin/sh\n"
		     "    echo 42\n"
		     "  strip: |-\n"
		     "    true\n"
		     "  folded: >\n"
		     "    one\n"
		     "    two\n"
		     "\n"
		     "    three\n"
		     "  number: >-\n"
		     "    123\n",
		     false, &n);
	assert_int_equal(n, 1);
	assert_string_equal(dig_str(o[0], "data.script"),
			    "#!/bin/sh\necho 42\n");
	/* Block scalars are text even when they look like something else. */
	assert_string_equal(dig_str(o[0], "data.strip"), "true");
	assert_string_equal(dig_str(o[0], "data.folded"), "one two\nthree\n");
	assert_string_equal(dig_str(o[0], "data.number"), "123");
	sl_manifest_free(o, n);
}

static void test_anchors_aliases(void **state)
{
	json_object **o, *a, *b;
	size_t n;

	(void)state;
	o = parse_ok("apiVersion: apps/v1\n"
		     "kind: Deployment\n"
		     "metadata:\n"
		     "  labels: &labels {app: web, tier: front}\n"
		     "spec:\n"
		     "  selector:\n"
		     "    matchLabels: *labels\n"
		     "  template:\n"
		     "    metadata: {labels: *labels}\n"
		     "  port: &port 8080\n"
		     "  targetPort: *port\n"
		     "  tag: &t x\n"
		     "  tag2: &t y\n"
		     "  tag3: *t\n"
		     "  none: &nothing\n"
		     "  none2: *nothing\n",
		     false, &n);
	assert_int_equal(n, 1);
	a = dig(o[0], "metadata.labels");
	b = dig(o[0], "spec.selector.matchLabels");
	assert_string_equal(dig_str(b, "app"), "web");
	assert_string_equal(dig_str(o[0], "spec.template.metadata.labels.tier"),
			    "front");
	/* A copy, not the same node: editing one must not edit the other. */
	assert_ptr_not_equal(a, b);
	json_object_object_add(b, "extra", json_object_new_string("1"));
	assert_null(dig(a, "extra"));
	assert_int_at(o[0], "spec.targetPort", 8080);
	/* A redefined anchor: later aliases see the newer node. */
	assert_string_equal(dig_str(o[0], "spec.tag3"), "y");
	assert_null_member(dig(o[0], "spec"), "none2");
	sl_manifest_free(o, n);

	/* An anchored key: its alias is the key's scalar. */
	o = parse_ok("&v apiVersion: v1\nkind: X\nwhich: *v\n", false, &n);
	assert_int_equal(n, 1);
	assert_string_equal(dig_str(o[0], "which"), "apiVersion");
	sl_manifest_free(o, n);

	/* Anchors belong to their document. */
	expect_error("apiVersion: v1\nkind: A\nx: &a 1\n---\n"
		     "apiVersion: v1\nkind: B\ny: *a\n",
		     false, 7, 4, "unknown anchor \"a\"");
	/* A node cannot contain itself. */
	expect_error("a: &a [1, *a]\n", false, 1, 11, "unknown anchor");
	expect_error("apiVersion: v1\nkind: X\nk: &k key\n*k : v\n", false, 4,
		     1, "aliases cannot be mapping keys");
}

static void test_empty(void **state)
{
	static const char *const empty[] = {
		"",
		"\n\n   \n",
		"# nothing here\n# at all\n",
		"---\n",
		"---\n# comment\n---\n...\n",
		"--- ~\n",
		"--- null\n---\n",
	};
	json_object **o;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		o = parse_ok(empty[i], false, &n);
		assert_int_equal(n, 0);
		sl_manifest_free(o, n);
	}
	/* Empty documents between real ones are skipped, not errors. */
	o = parse_ok("---\n---\napiVersion: v1\nkind: A\n---\n# c\n---\n"
		     "apiVersion: v1\nkind: B\n---\n",
		     false, &n);
	assert_int_equal(n, 2);
	assert_string_equal(dig_str(o[1], "kind"), "B");
	sl_manifest_free(o, n);
	sl_manifest_free(NULL, 0);
}

static void test_yaml_errors(void **state)
{
	(void)state;
	/* Bad indentation: line 4 is neither in nor out of "metadata". */
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n   name: a\n"
		     "  labels: {}\n",
		     false, 5, 3, "did not find expected key");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
		     "  labels:\n    app: x\n    app: y\n",
		     false, 7, 5, "duplicate key \"app\"");
	/* Document 2 starts on line 4 and lacks its kind. */
	expect_error("apiVersion: v1\nkind: Pod\n---\napiVersion: v1\n"
		     "metadata: {name: x}\n",
		     false, 4, 1, "document 2: the document has no kind");
	expect_error("# first\n---\nkind: Pod\n", false, 3, 1,
		     "document 1: the document has no apiVersion");
	expect_error("apiVersion: v1\nkind: 5\n", false, 1, 1,
		     "has no kind string");
	expect_error("apiVersion: v1\nkind: \"\"\n", false, 1, 1,
		     "has no kind string");
	expect_error("apiVersion: v1\nkind: A\n---\n- apiVersion: v1\n", false,
		     4, 1, "document 2: the document is a list, not an object");
	expect_error("just text\n", false, 1, 1, "is a string, not an object");
	expect_error("apiVersion: v1\nkind: List\nitems:\n"
		     "- apiVersion: v1\n  kind: Pod\n"
		     "- 42\n",
		     false, 6, 3, "document 1: items[1] is a number");
	expect_error("apiVersion: v1\nkind: List\nitems:\n"
		     "- apiVersion: v1\n  kind: Pod\n"
		     "- apiVersion: v1\n  metadata: {}\n",
		     false, 6, 3, "items[1] has no kind");
	expect_error("apiVersion: v1\nkind: List\nitems:\n"
		     "- apiVersion: v1\n  kind: List\n  items: []\n",
		     false, 4, 3, "items[0] is itself a List");
	expect_error("apiVersion: v1\nkind: List\nitems: 3\n", false, 1, 1,
		     "document 1: the List's items is a number");
	expect_error("apiVersion: v1\nkind: X\nbase: &b {a: 1}\n"
		     "m:\n  <<: *b\n",
		     false, 5, 3, "merge keys (<<) are not supported");
	expect_error("apiVersion: v1\nkind: X\n? [a, b]\n: 1\n", false, 3, 3,
		     "mapping keys must be scalars");
	expect_error("apiVersion: v1\nkind: X\nn: !!int ten\n", false, 3, 4,
		     "!!int value is not an integer");
	expect_error("apiVersion: v1\nkind: X\nn: !!int 9223372036854775808\n",
		     false, 3, 4, "!!int value out of range");
	expect_error("apiVersion: v1\nkind: X\nn: !!bool yes\n", false, 3, 4,
		     "!!bool");
	expect_error("apiVersion: v1\nkind: X\nn: !!float x\n", false, 3, 4,
		     "!!float");
	expect_error("apiVersion: v1\nkind: X\nn: !!null 0\n", false, 3, 4,
		     "!!null");
	expect_error("apiVersion: v1\nkind: X\nk: \"a\\0b\"\n\"a\\0b\": 1\n",
		     false, 4, 1, "NUL character");
	expect_error("apiVersion: v1\nkind: X\nbad: \"unterminated\n", false,
		     4, 1, "found unexpected end of stream");
	/* A truncated UTF-8 sequence: the newline is the bad octet. */
	expect_error("apiVersion: v1\nkind: X\nname: caf\xc3\n", false, 3, 11,
		     "invalid trailing UTF-8 octet");
	expect_error("apiVersion: v1\nkind: X\nx: [a, b\ny: 1\n", false, 4, -1,
		     "");
}

/* Ten aliases per level, nine levels: 10^9 nodes from 300 bytes. */
static void test_alias_bomb(void **state)
{
	char buf[1024];
	size_t off;

	(void)state;
	off = (size_t)snprintf(buf, sizeof(buf),
			       "apiVersion: v1\nkind: X\n"
			       "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
					"l%d: &l%d [", i, i);
		for (int j = 0; j < 10; j++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						"%s*l%d", j ? ", " : "", i - 1);
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "]\n");
	}
	assert_true(off < sizeof(buf));
	/*
	 * Level 5 is 1.1M nodes, so the budget runs out at the third alias
	 * in level 6's list (line 9), long before a billion.
	 */
	expect_error(buf, false, 9, 20, "more than 4194304 nodes");

	/* Well below the budget, aliases expand in full. */
	{
		json_object **o;
		size_t n;

		o = parse_ok("apiVersion: v1\nkind: X\n"
			     "a: &a [1, 2, 3, 4]\n"
			     "b: &b [*a, *a, *a, *a]\n"
			     "c: [*b, *b, *b, *b]\n",
			     false, &n);
		assert_int_equal(n, 1);
		assert_int_equal(json_object_array_length(dig(o[0], "c")), 4);
		assert_int_at(o[0], "c.3.3.3", 4);
		sl_manifest_free(o, n);
	}
}

static char *nested(const char *prefix, int levels, const char *inner)
{
	size_t plen = strlen(prefix), ilen = strlen(inner);
	char *s = malloc(plen + ilen + 2 * (size_t)levels + 2);
	char *p = s;

	assert_non_null(s);
	memcpy(p, prefix, plen);
	p += plen;
	memset(p, '[', (size_t)levels);
	p += levels;
	memcpy(p, inner, ilen);
	p += ilen;
	memset(p, ']', (size_t)levels);
	p += levels;
	strcpy(p, "\n");
	return s;
}

static void test_depth_limit(void **state)
{
	const char *yprefix = "apiVersion: v1\nkind: X\nd: ";
	const char *jprefix = "{\"apiVersion\":\"v1\",\"kind\":\"X\",\"d\":";
	json_object **o;
	char *s, *j;
	size_t n;

	(void)state;
	/* The document's mapping is level 1: 63 more fit, 64 do not. */
	s = nested(yprefix, SL_MANIFEST_MAX_DEPTH - 1, "");
	o = parse_ok(s, false, &n);
	assert_int_equal(n, 1);
	sl_manifest_free(o, n);
	free(s);
	s = nested(yprefix, SL_MANIFEST_MAX_DEPTH, "");
	expect_error(s, false, 3, 4 + SL_MANIFEST_MAX_DEPTH - 1,
		     "nested deeper than 64 levels");
	free(s);

	/* JSON has the same limit (the closing brace is added below). */
	s = nested(jprefix, SL_MANIFEST_MAX_DEPTH - 1, "");
	j = realloc(s, strlen(s) + 2);
	assert_non_null(j);
	strcpy(j + strlen(j) - 1, "}\n");
	o = parse_ok(j, true, &n);
	assert_int_equal(n, 1);
	sl_manifest_free(o, n);
	free(j);
	s = nested(jprefix, SL_MANIFEST_MAX_DEPTH, "");
	j = realloc(s, strlen(s) + 2);
	assert_non_null(j);
	strcpy(j + strlen(j) - 1, "}\n");
	expect_error(j, true, 1, -1, "nesting too deep");
	free(j);

	/*
	 * An alias counts its own depth where it lands: 32 levels of anchor
	 * under 31 (+1 for the root) fit, under 32 they do not.
	 */
	{
		char *a = nested("apiVersion: v1\nkind: X\na: &a ", 32, "");
		char *b = nested("", 31, "*a");
		char *c = nested("", 32, "*a");
		char *doc = malloc(strlen(a) + strlen(c) + 16);

		assert_non_null(doc);
		sprintf(doc, "%sb: %s", a, b);
		o = parse_ok(doc, false, &n);
		assert_int_equal(n, 1);
		sl_manifest_free(o, n);
		sprintf(doc, "%sb: %s", a, c);
		expect_error(doc, false, 4, 36, "alias *a nests deeper");
		free(doc);
		free(a);
		free(b);
		free(c);
	}
}

static void test_nul_byte(void **state)
{
	static const char yaml[] = "apiVersion: v1\nkind: X\nname: a\0b\n";
	static const char json[] = "{\"apiVersion\":\"v1\",\n\"kind\":\"\0\"}";

	(void)state;
	expect_error_len(yaml, sizeof(yaml) - 1, false, 3, 8, "NUL byte");
	expect_error_len(json, sizeof(json) - 1, true, 2, 9, "NUL byte");
	/* A UTF-16 file is all NULs to us: refused, not misread. */
	expect_error_len("a\0:\0 \0b\0", 8, false, 1, 2, "NUL byte");
}

static void test_json_errors(void **state)
{
	(void)state;
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}\n  x\n", true,
		     2, 3, "trailing data after the JSON value");
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}"
		     "{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}",
		     true, 1, 36, "trailing data");
	/* The column counts characters: "é" is one. */
	expect_error("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n"
		     "  \"métadata\": {\"name\" \"x\"}\n}\n",
		     true, 4, 23, "':' expected");
	expect_error("{\"apiVersion\": \"v1\",\n \"kind\": \"Pod\",\n}\n", true,
		     3, 1, "unexpected character");
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Pod\"", true, 1, 35,
		     "unexpected end of data");
	expect_error("/* c */ {}", true, 1, 1, "unexpected character");
	expect_error("", true, 1, 1, "no JSON value");
	expect_error(" \n\t", true, 2, 2, "no JSON value");
	expect_error("  42", true, 1, 3,
		     "document 1: the document is a number");
	expect_error("[{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}]", true,
		     1, 1, "is a list, not an object");
	expect_error("{\"kind\": \"Pod\"}", true, 1, 1, "has no apiVersion");
	expect_error("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[1]}",
		     true, 0, 0, "document 1: items[0] is a number");
	expect_error("{\"apiVersion\":\"v1\",\"kind\":\"x\",\"s\":\"\xff\"}",
		     true, 1, -1, "invalid utf-8");
}

/* JSON has no aliases, but the same node ceiling holds for it. */
static void test_json_node_budget(void **state)
{
	static const char head[] =
		"{\"apiVersion\":\"v1\",\"kind\":\"X\",\"a\":[";
	/* The object, three keys, two strings and the array are 7 nodes. */
	size_t zeros = SL_MANIFEST_MAX_NODES - 7 + 1;
	size_t len = sizeof(head) - 1 + 2 * zeros + 1;
	char *buf = malloc(len);
	char *p = buf;

	(void)state;
	assert_non_null(buf);
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (size_t i = 0; i < zeros; i++) {
		*p++ = '0';
		*p++ = i + 1 < zeros ? ',' : ']';
	}
	*p++ = '}';
	assert_true((size_t)(p - buf) == len);
	expect_error_len(buf, len, true, 1, 1, "more than 4194304 nodes");
	free(buf);
}

static void test_too_large(void **state)
{
	static const char buf[16] = "apiVersion: v1\n";

	(void)state;
	/* The size is checked before any byte is read: a short buffer does. */
	expect_error_len(buf, (size_t)SL_MANIFEST_MAX_BYTES + 1, false, 0, 0,
			 "larger than");
	expect_error_len(buf, (size_t)SL_MANIFEST_MAX_BYTES + 1, true, 0, 0,
			 "larger than");
}

/*
 * Errors late in a file, after objects, anchors and open collections exist:
 * everything must be released (LeakSanitizer checks at exit).
 */
static void test_error_frees_everything(void **state)
{
	char *big;
	size_t off = 0;

	(void)state;
	expect_error("apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n"
		     "a: &a {x: [1, {y: 2}]}\n"
		     "b: [*a, *a, {c: [*a, {d: *missing}]}]\n",
		     false, 7, 26, "unknown anchor");
	expect_error("apiVersion: v1\nkind: List\nitems:\n"
		     "- apiVersion: v1\n  kind: Pod\n  m: &m {a: [1, 2]}\n"
		     "- apiVersion: v1\n  kind: Pod\n  m: *m\n  m: 2\n",
		     false, 10, 3, "duplicate key");
	/* The failing document comes after a List whose items were added. */
	expect_error("apiVersion: v1\nkind: List\nitems:\n"
		     "- {apiVersion: v1, kind: A}\n"
		     "- {apiVersion: v1, kind: B}\n"
		     "---\nkind: C\n",
		     false, 7, 1, "document 2");

	/* Many objects, then one bad document. */
	big = malloc(64 * 1024);
	assert_non_null(big);
	for (int i = 0; i < 500; i++)
		off += (size_t)sprintf(big + off,
				       "---\napiVersion: v1\nkind: Pod\n"
				       "metadata: {name: p%d}\n",
				       i);
	sprintf(big + off, "---\napiVersion: v1\n");
	expect_error(big, false, 2002, 1, "document 501");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_list_yaml),
		cmocka_unit_test(test_list_json),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_keys_are_strings),
		cmocka_unit_test(test_block_scalars),
		cmocka_unit_test(test_anchors_aliases),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_json_node_budget),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_error_frees_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
