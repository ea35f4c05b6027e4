/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Manifest files: YAML (multi-document) or JSON into Kubernetes objects as
 * json-c trees, the same shape the API server serves, so everything after
 * parsing is shared with the API source.
 */
#ifndef SL_AGENT_MANIFEST_H
#define SL_AGENT_MANIFEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct sl_manifest_error {
	int line;   /* 1-based; 0 when unknown */
	int column; /* 1-based; 0 when unknown */
	char reason[256];
};

/* Limits that keep a hostile file from exhausting the agent. */
#define SL_MANIFEST_MAX_BYTES (64u << 20)
#define SL_MANIFEST_MAX_DEPTH 64
#define SL_MANIFEST_MAX_NODES (4u << 20)

/**
 * sl_manifest_parse - decode one manifest file
 * @buf: the file's bytes (need not be NUL-terminated)
 * @len: their length
 * @is_json: JSON (one value) rather than YAML (any number of documents)
 * @objs: out: a malloc'd array of new json_object references, one per
 *        Kubernetes object; a "kind: List" (or any kind ending in "List"
 *        with an "items" array) contributes its items; empty documents
 *        contribute nothing (no objects at all: *objs is NULL)
 * @n: out: the number of objects
 * @err: out on failure: where and why
 *
 * Every object returned is a JSON object with string "apiVersion" and
 * "kind"; a document that is not is an error. On error nothing is returned
 * (all or nothing per file). Returns 0 or -1.
 */
int sl_manifest_parse(const char *buf, size_t len, bool is_json,
		      json_object ***objs, size_t *n,
		      struct sl_manifest_error *err);

void sl_manifest_free(json_object **objs, size_t n);

#endif /* SL_AGENT_MANIFEST_H */
