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

static const struct sl_flow_names names = {
	.pod_at = pod_at, .labels_of = labels_of, .service_of = name_of,
	.policy_of = name_of, .node_name = "node",
};

static size_t known_size(uint8_t type)
{
	switch (type) {
	case SL_EVENT_DROP: return sizeof(struct sl_drop_event);
	case SL_EVENT_POLICY: return sizeof(struct sl_policy_event);
	case SL_EVENT_FLOW: return sizeof(struct sl_flow_event);
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
