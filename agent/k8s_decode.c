// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The field readers and the digest every object decoder shares
 * (k8s_decode.h). They only read the JSON; what a decoder keeps it copies.
 */
#include "k8s.h"
#include "k8s_decode.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sl_k8s_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

json_object *sl_k8s_path(json_object *o, const char *p)
{
	char buf[128], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", p);
	for (tok = strtok_r(buf, ".", &save); tok && o;
	     tok = strtok_r(NULL, ".", &save)) {
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, tok, &o))
			return NULL;
	}
	return o;
}

const char *sl_k8s_field(char *buf, size_t n, const char *where, const char *p)
{
	if (where[0])
		snprintf(buf, n, "%s.%s", where, p);
	else
		snprintf(buf, n, "%s", p);
	return buf;
}

void sl_k8s_requalify(char *why, size_t len, const char *where, const char *p)
{
	char tmp[256];

	if (len && where[0] && !strncmp(why, p, strlen(p))) {
		snprintf(tmp, sizeof(tmp), "%s", why);
		snprintf(why, len, "%s.%s", where, tmp);
	}
}

int sl_k8s_peek_str(json_object *o, const char *where, const char *p,
		    unsigned int flags, const char **out, char *why, size_t len)
{
	json_object *v = sl_k8s_path(o, p);
	char f[256];

	*out = "";
	if (!sl_k8s_is_null(v)) {
		if (!json_object_is_type(v, json_type_string))
			return sl_k8s_fail(why, len, "%s is not a string",
					   sl_k8s_field(f, sizeof(f), where,
							p));
		*out = json_object_get_string(v);
		/* An embedded NUL would silently cut the string short. */
		if (!(flags & SL_K8S_NUL_OK) &&
		    (size_t)json_object_get_string_len(v) != strlen(*out))
			return sl_k8s_fail(why, len, "%s holds a NUL character",
					   sl_k8s_field(f, sizeof(f), where,
							p));
	}
	if ((flags & SL_K8S_REQUIRED) && !(*out)[0])
		return sl_k8s_fail(why, len, "%s is missing",
				   sl_k8s_field(f, sizeof(f), where, p));
	return 0;
}

int sl_k8s_get_str(json_object *o, const char *p, bool required, char **out,
		   char *why, size_t len)
{
	const char *s;

	if (sl_k8s_peek_str(o, "", p, required ? SL_K8S_REQUIRED : 0, &s, why,
			    len))
		return -1;
	if (strlen(s) > SL_K8S_MAX_STRING)
		return sl_k8s_fail(why, len, "%s is too long", p);
	*out = strdup(s);
	return *out ? 0 : sl_k8s_fail(why, len, "out of memory");
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct sl_label *)a)->key,
		      ((const struct sl_label *)b)->key);
}

int sl_k8s_get_labels(json_object *o, const char *p, struct sl_labels *l,
		      char *why, size_t len)
{
	json_object *v = sl_k8s_path(o, p);
	size_t n;

	l->items = NULL;
	l->n = 0;
	if (sl_k8s_is_null(v))
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return sl_k8s_fail(why, len, "%s is not an object", p);
	n = (size_t)json_object_object_length(v);
	if (n > SL_K8S_MAX_LABELS)
		return sl_k8s_fail(why, len, "%s: %zu labels, more than %d", p,
				   n, SL_K8S_MAX_LABELS);
	l->items = calloc(n ? n : 1, sizeof(*l->items));
	if (!l->items)
		return sl_k8s_fail(why, len, "out of memory");
	json_object_object_foreach(v, key, val)
	{
		if (!json_object_is_type(val, json_type_string) ||
		    strlen(key) > 317 ||
		    strlen(json_object_get_string(val)) > 63) {
			sl_labels_free(l);
			return sl_k8s_fail(why, len,
					   "%s: \"%.64s\" is not a valid label",
					   p, key);
		}
		l->items[l->n].key = strdup(key);
		l->items[l->n].value = strdup(json_object_get_string(val));
		l->n++;
		if (!l->items[l->n - 1].key || !l->items[l->n - 1].value) {
			sl_labels_free(l);
			return sl_k8s_fail(why, len, "out of memory");
		}
	}
	/* json-c keeps the last of duplicate keys, so keys are unique. */
	qsort(l->items, l->n, sizeof(*l->items), cmp_label);
	return 0;
}

int sl_k8s_check_objects(json_object *o, const char *where,
			 const char *const *paths, char *why, size_t len)
{
	char f[256];

	for (; *paths; paths++) {
		json_object *v = sl_k8s_path(o, *paths);

		if (!sl_k8s_is_null(v) &&
		    !json_object_is_type(v, json_type_object))
			return sl_k8s_fail(why, len, "%s is not an object",
					   sl_k8s_field(f, sizeof(f), where,
							*paths));
	}
	return 0;
}

int sl_k8s_check_element(json_object *e, const char *where, char *why,
			 size_t len)
{
	if (!json_object_is_type(e, json_type_object))
		return sl_k8s_fail(why, len, "%s is not an object", where);
	return 0;
}

int sl_k8s_get_list(json_object *o, const char *where, const char *p,
		    size_t max, json_object **arr, size_t *n, char *why,
		    size_t len)
{
	json_object *v = sl_k8s_path(o, p);
	char f[256];

	*arr = NULL;
	*n = 0;
	if (sl_k8s_is_null(v))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return sl_k8s_fail(why, len, "%s is not a list",
				   sl_k8s_field(f, sizeof(f), where, p));
	if (json_object_array_length(v) > max)
		return sl_k8s_fail(why, len,
				   "%s has %zu entries, more than %zu",
				   sl_k8s_field(f, sizeof(f), where, p),
				   json_object_array_length(v), max);
	*arr = v;
	*n = json_object_array_length(v);
	return 0;
}

int sl_k8s_list_str(json_object *arr, size_t i, const char *p, const char **out,
		    char *why, size_t len)
{
	json_object *v = json_object_array_get_idx(arr, i);

	if (!json_object_is_type(v, json_type_string))
		return sl_k8s_fail(why, len, "%s[%zu] is not a string", p, i);
	*out = json_object_get_string(v);
	return 0;
}

int sl_k8s_parse_ip4(const char *s, uint32_t *ip)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -1;
	*ip = ntohl(in.s_addr);
	return 0;
}

int sl_k8s_protocol(const char *s)
{
	if (!strcmp(s, "TCP"))
		return IPPROTO_TCP;
	if (!strcmp(s, "UDP"))
		return IPPROTO_UDP;
	if (!strcmp(s, "SCTP"))
		return IPPROTO_SCTP;
	return -1;
}

bool sl_k8s_port_name_valid(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (!n || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return false;
	for (; *s; s++) {
		if (*s >= 'a' && *s <= 'z')
			letter = true;
		else if (!(*s >= '0' && *s <= '9') && *s != '-')
			return false;
	}
	return letter;
}

/* --- digest --------------------------------------------------------------- */

#define FNV_PRIME 1099511628211ull

static void fnv_bytes(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * FNV_PRIME;
}

void sl_fnv_u64(uint64_t *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	fnv_bytes(h, b, sizeof(b));
}

void sl_fnv_str(uint64_t *h, const char *s)
{
	fnv_bytes(h, s, strlen(s) + 1);
}
