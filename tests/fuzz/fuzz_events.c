// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the agent's event decoder (agent/flows.c): bytes as
 * the sl_events ring could hand them (the datapath writes them, but a
 * datapath of another build, or a bug, may not agree on their layout) →
 * sl_flows_event() → every record rendered as JSON. ASan catches a read
 * past a capture, UBSan an unaligned or overflowing field. Beyond not
 * crashing: a record is kept for exactly the inputs of a known type,
 * version and size, and the rendering is valid JSON that parses back.
 *
 * The first byte picks the size the ring would report (the record's own,
 * or the input's), so both exact-size records and any length are tried.
 * Socket events make no record but are joined with later ones (and may
 * release a held end); the held ends are flushed now and then. The same
 * bytes, as a string, go through the cgroup path parser (the paths come
 * from the kernel, but a container runtime names the directories).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/event.h>

#include "flows.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static const char *pod_at(void *ctx, uint32_t ip, uint32_t *identity)
{
	(void)ctx;
	*identity = ip & 0xffff;
	return ip & 1 ? "ns-odd/pod \"quoted\"" : NULL;
}

static const char *labels_of(void *ctx, uint32_t identity)
{
	(void)ctx;
	return identity & 2 ? "a=b,c=\\d,,=" : NULL;
}

static const char *name_of(void *ctx, uint32_t id)
{
	(void)ctx;
	return id & 1 ? "ns/name:port" : NULL;
}

static const char *container_of(void *ctx, uint64_t cgroup_id)
{
	(void)ctx;
	return cgroup_id & 1 ? "c0ffee" : NULL;
}

static const struct sl_flow_names names = {
	.pod_at = pod_at, .labels_of = labels_of, .service_of = name_of,
	.policy_of = name_of, .container_of = container_of,
	.node_name = "node",
};

/* The parser's answer: 64 hex digits found in the path, or nothing. */
static void check_container_id(const uint8_t *data, size_t size)
{
	char path[512], out[72];
	size_t len = size < sizeof(path) - 1 ? size : sizeof(path) - 1, n;

	memcpy(path, data, len);
	path[len] = '\0';
	n = sl_flow_container_id(path, out, sizeof(out));
	check(n == 0 || n == 64);
	check(strlen(out) == n);
	for (size_t i = 0; i < n; i++)
		check((out[i] >= '0' && out[i] <= '9') ||
		      (out[i] >= 'a' && out[i] <= 'f'));
	check(!n || strstr(path, out));
}

static size_t known_size(uint8_t type)
{
	switch (type) {
	case SL_EVENT_DROP: return sizeof(struct sl_drop_event);
	case SL_EVENT_POLICY: return sizeof(struct sl_policy_event);
	case SL_EVENT_FLOW: return sizeof(struct sl_flow_event);
	case SL_EVENT_SOCK: return sizeof(struct sl_sock_event);
	default: return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_flows f;
	static bool ready;
	struct sl_event_hdr h;
	uint8_t buf[256] = { 0 };
	size_t len, before;
	json_object *arr;

	if (!ready) {
		check(sl_flows_init(&f, 16, &names) == 0);
		ready = true;
	}
	if (size < 1)
		return 0;
	len = size - 1 < sizeof(buf) ? size - 1 : sizeof(buf);
	memcpy(buf, data + 1, len);
	/* Even first byte: the exact size of the type the header names. */
	if (!(data[0] & 1) && len >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		if (known_size(h.type))
			len = known_size(h.type);
	}
	before = f.seq;
	check(sl_flows_event(&f, buf, len) == 0);
	if (f.seq != before) {
		memcpy(&h, buf, sizeof(h));
		check(len == known_size(h.type) && h.version == SL_EVENT_VERSION);
	}
	/* The second byte, now and then: time passes for the held ends. */
	if (size > 1 && data[1] == 0xff)
		sl_flows_flush(&f, UINT64_MAX);
	check(f.n_pending <= SL_FLOWS_PENDING_MAX);
	check(f.socks.count <= SL_FLOWS_SOCKS_MAX);
	check_container_id(data, size);
	arr = sl_flows_recent_json(&f, 0);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		const char *s = json_object_to_json_string_ext(
			json_object_array_get_idx(arr, i), JSON_C_TO_STRING_PLAIN);
		json_object *back = json_tokener_parse(s);

		check(back != NULL);
		json_object_put(back);
	}
	json_object_put(arr);
	return 0;
}
