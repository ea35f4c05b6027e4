// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The API server source (SPECS C.1-C.6): per resource, LIST in pages of
 * SL_KUBE_PAGE_LIMIT following continue tokens, replace what the model
 * holds for that kind, then WATCH from the list's resourceVersion. A clean
 * end of the watch re-watches from the last RV seen; 410 (as the HTTP
 * status or as an ERROR event) relists; anything else backs off and
 * resumes from the last RV, which the server answers with 410 if it has
 * forgotten it. So no change is lost: every path back ends either at the
 * RV we last applied or at a full list that replaces the state.
 *
 * All I/O is libcurl multi on the agent's epoll: CURLMOPT_SOCKETFUNCTION
 * registers curl's sockets there, CURLMOPT_TIMERFUNCTION drives a timerfd,
 * and a second timerfd fires the informers' backoffs.
 */
#include "k8s_watch.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ---- the watch stream parser ------------------------------------------------ */

int sl_watch_parser_init(struct sl_watch_parser *p)
{
	memset(p, 0, sizeof(*p));
	/* Objects nest deeper than json-c's default 32 (managedFields). */
	p->tok = json_tokener_new_ex(SL_WATCH_MAX_DEPTH);
	if (!p->tok)
		return -ENOMEM;
	/* Strict: plain JSON as the API server writes it (no comments, no
	 * bare words). Trailing bytes are the next value on the line. */
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT |
					       JSON_TOKENER_ALLOW_TRAILING_CHARS);
	return 0;
}

void sl_watch_parser_reset(struct sl_watch_parser *p)
{
	if (p->tok)
		json_tokener_reset(p->tok);
	p->len = 0;
}

void sl_watch_parser_free(struct sl_watch_parser *p)
{
	if (p->tok)
		json_tokener_free(p->tok);
	free(p->line);
	memset(p, 0, sizeof(*p));
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse one complete line: zero or more JSON objects. */
static int parse_line(struct sl_watch_parser *p, const char *line, size_t len,
		      sl_watch_value_fn fn, void *ctx, char *why,
		      size_t why_len)
{
	size_t off = 0;

	while (off < len) {
		enum json_tokener_error jerr;
		json_object *v;
		size_t used;
		int ret;

		while (off < len && is_ws(line[off]))
			off++;
		if (off == len)
			break;
		/* Every event is an object; anything else is not a watch. */
		if (line[off] != '{') {
			snprintf(why, why_len, "expected an event object, got 0x%02x",
				 (unsigned char)line[off]);
			return -EBADMSG;
		}
		json_tokener_reset(p->tok);
		v = json_tokener_parse_ex(p->tok, line + off, (int)(len - off));
		jerr = json_tokener_get_error(p->tok);
		if (jerr != json_tokener_success) {
			/* A whole line ending inside a value is malformed
			 * too: the newline cannot be inside one. */
			snprintf(why, why_len, "not JSON: %s",
				 jerr == json_tokener_continue ?
					 "value cut by a newline" :
					 json_tokener_error_desc(jerr));
			json_object_put(v);
			return -EBADMSG;
		}
		used = json_tokener_get_parse_end(p->tok);
		if (!used || used > len - off) {
			json_object_put(v);
			snprintf(why, why_len, "parser made no progress");
			return -EBADMSG;
		}
		off += used;
		ret = fn(ctx, v);
		json_object_put(v);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int sl_watch_parser_feed(struct sl_watch_parser *p, const char *buf,
			 size_t len, sl_watch_value_fn fn, void *ctx, char *why,
			 size_t why_len)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		int ret;

		if (p->len + n > SL_WATCH_MAX_EVENT) {
			snprintf(why, why_len, "an event longer than %u bytes",
				 SL_WATCH_MAX_EVENT);
			return -EBADMSG;
		}
		if (nl && !p->len) {
			/* The common case: a whole line inside this chunk. */
			ret = parse_line(p, buf + off, n, fn, ctx, why, why_len);
		} else {
			if (p->len + n > p->cap) {
				size_t cap = p->cap ? p->cap : 4096;
				char *line;

				while (cap < p->len + n)
					cap *= 2;
				line = realloc(p->line, cap);
				if (!line) {
					snprintf(why, why_len, "out of memory");
					return -ENOMEM;
				}
				p->line = line;
				p->cap = cap;
			}
			memcpy(p->line + p->len, buf + off, n);
			p->len += n;
			ret = 0;
			if (nl) {
				ret = parse_line(p, p->line, p->len, fn, ctx, why,
						 why_len);
				p->len = 0;
			}
		}
		if (ret < 0)
			return ret;
		off += n + (nl ? 1 : 0);
	}
	return 0;
}

static const char *const watch_types[] = {
	[SL_WATCH_ADDED] = "ADDED",
	[SL_WATCH_MODIFIED] = "MODIFIED",
	[SL_WATCH_DELETED] = "DELETED",
	[SL_WATCH_BOOKMARK] = "BOOKMARK",
	[SL_WATCH_ERROR] = "ERROR",
};

static const char *str_at(json_object *o, const char *k1, const char *k2)
{
	json_object *v = o;

	if (!json_object_is_type(v, json_type_object) ||
	    !json_object_object_get_ex(v, k1, &v))
		return NULL;
	if (k2 && (!json_object_is_type(v, json_type_object) ||
		   !json_object_object_get_ex(v, k2, &v)))
		return NULL;
	return json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : NULL;
}

int sl_watch_event_parse(json_object *ev, enum sl_watch_type *type,
			 json_object **obj, const char **rv, char *why,
			 size_t why_len)
{
	const char *t = str_at(ev, "type", NULL);
	size_t i;

	*obj = NULL;
	*rv = NULL;
	if (!json_object_is_type(ev, json_type_object)) {
		snprintf(why, why_len, "an event that is not a JSON object");
		return -EBADMSG;
	}
	if (!t) {
		snprintf(why, why_len, "an event without a type");
		return -EBADMSG;
	}
	for (i = 0; i < sizeof(watch_types) / sizeof(watch_types[0]); i++)
		if (!strcmp(t, watch_types[i]))
			break;
	if (i == sizeof(watch_types) / sizeof(watch_types[0])) {
		snprintf(why, why_len, "an event of unknown type \"%.32s\"", t);
		return -EBADMSG;
	}
	*type = (enum sl_watch_type)i;
	if (!json_object_object_get_ex(ev, "object", obj) ||
	    !json_object_is_type(*obj, json_type_object)) {
		*obj = NULL;
		snprintf(why, why_len, "a %s event without an object", t);
		return -EBADMSG;
	}
	if (*type == SL_WATCH_ERROR)
		return 0;
	*rv = str_at(*obj, "metadata", "resourceVersion");
	if (!*rv || !(*rv)[0] || strlen(*rv) >= 128) {
		*rv = NULL;
		snprintf(why, why_len, "a %s event without a resourceVersion", t);
		return -EBADMSG;
	}
	return 0;
}

/* ---- resources ---------------------------------------------------------------- */

const struct sl_resource sl_kube_resources[SL_KUBE_RESOURCES] = {
	{ "pods", "/api/v1/pods", "v1", "Pod", SL_KIND_POD, true, true },
	{ "namespaces", "/api/v1/namespaces", "v1", "Namespace",
	  SL_KIND_NAMESPACE, false, true },
	{ "nodes", "/api/v1/nodes", "v1", "Node", SL_KIND_NODE, false, false },
	{ "services", "/api/v1/services", "v1", "Service", SL_KIND_SERVICE,
	  true, true },
	{ "endpointslices", "/apis/discovery.k8s.io/v1/endpointslices",
	  "discovery.k8s.io/v1", "EndpointSlice", SL_KIND_ENDPOINTSLICE, true,
	  true },
	{ "networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies",
	  "networking.k8s.io/v1", "NetworkPolicy", SL_KIND_NETPOL, true, true },
};

/* What a finished transfer leads to, when the body decided it. */
enum {
	AFTER_NONE,
	AFTER_RELIST_NOW, /* 410 Expired/Gone on the stream */
	AFTER_RELIST,     /* a broken stream: relist after a backoff */
	AFTER_BACKOFF,    /* an ERROR event other than 410 */
};

static char present; /* a non-NULL value for key sets */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_error(struct sl_informer *inf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct sl_informer *inf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inf->last_error, sizeof(inf->last_error), fmt, ap);
	va_end(ap);
	snprintf(inf->kube->last_error, sizeof(inf->kube->last_error), "%s: %.400s",
		 inf->res->name, inf->last_error);
}

/* "ns/name" or "name", the model's key; NULL when metadata lacks it. */
static int object_key(const struct sl_resource *res, json_object *obj,
		      char *key, size_t len)
{
	const char *ns = str_at(obj, "metadata", "namespace");
	const char *name = str_at(obj, "metadata", "name");

	if (!name || !name[0] || (res->namespaced && (!ns || !ns[0])))
		return -EBADMSG;
	if (res->namespaced)
		snprintf(key, len, "%s/%s", ns, name);
	else
		snprintf(key, len, "%s", name);
	return 0;
}

static void keys_clear(struct sl_table *t)
{
	sl_table_free(t);
	sl_table_init(t);
}

/*
 * Apply one object (a list item, ADDED or MODIFIED). A malformed object is
 * logged and skipped, keeping what the model had for it. Returns 0 or
 * -ENOMEM.
 */
static int apply_object(struct sl_informer *inf, json_object *obj,
			bool listing)
{
	const struct sl_resource *res = inf->res;
	struct sl_object o;
	char key[600], why[256], desc[200];
	json_object *v;
	int ret;

	if (object_key(res, obj, key, sizeof(key)) < 0) {
		inf->skipped++;
		sl_object_describe(obj, desc, sizeof(desc));
		set_error(inf, "%s: metadata.name%s missing; skipping it", desc,
			  res->namespaced ? " or metadata.namespace" : "");
		log_warn("%s: %s", res->name, inf->last_error);
		return 0;
	}
	if (listing && sl_table_put(&inf->seen, key, &present, NULL) < 0)
		return -ENOMEM;
	if (res->model_kind == SL_KIND_OTHER)
		return sl_table_put(&inf->keys, key, &present, NULL);

	/* List items carry no apiVersion/kind; the decoder wants them. */
	if (!json_object_object_get_ex(obj, "apiVersion", &v))
		json_object_object_add(obj, "apiVersion",
				       json_object_new_string(res->api_version));
	if (!json_object_object_get_ex(obj, "kind", &v))
		json_object_object_add(obj, "kind",
				       json_object_new_string(res->kind));
	ret = sl_object_decode(obj, &o, why, sizeof(why));
	if (ret <= 0 || o.kind != res->model_kind) {
		if (ret > 0)
			sl_object_free(&o);
		inf->skipped++;
		sl_object_describe(obj, desc, sizeof(desc));
		set_error(inf, "%s: %s; skipping it", desc,
			  ret < 0 ? why : "not the kind this collection holds");
		log_warn("%s: %s", res->name, inf->last_error);
		return 0;
	}
	ret = sl_model_upsert(inf->kube->model, &o, SL_KUBE_OWNER);
	if (ret < 0) {
		sl_object_free(&o);
		return ret;
	}
	if (ret)
		log_debug("%s %s %s", res->kind, key,
			  listing ? "listed" : "changed");
	return 0;
}

static void delete_key(struct sl_informer *inf, const char *key)
{
	if (inf->res->model_kind == SL_KIND_OTHER)
		sl_table_del(&inf->keys, key);
	else if (sl_model_delete(inf->kube->model, inf->res->model_kind, key,
				 SL_KUBE_OWNER))
		log_debug("%s %s deleted", inf->res->kind, key);
}

/*
 * After a full LIST: what we hold that the list did not have was deleted
 * while we were not watching (client-go's Replace).
 */
static int replace_done(struct sl_informer *inf)
{
	const struct sl_table *t = inf->res->model_kind == SL_KIND_OTHER ?
		&inf->keys : &inf->kube->model->objects[inf->res->model_kind];
	char **gone = NULL;
	size_t n = 0, cap = 0;
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(t, &i, &key, &val);) {
		if (sl_table_get(&inf->seen, key))
			continue;
		if (inf->res->model_kind != SL_KIND_OTHER &&
		    strcmp(((struct sl_model_obj *)val)->owner, SL_KUBE_OWNER))
			continue;
		if (n == cap) {
			char **g = realloc(gone, (cap = cap ? cap * 2 : 16) *
							 sizeof(*gone));

			if (!g)
				goto nomem;
			gone = g;
		}
		/* Deleting while iterating could move entries: copy first. */
		if (!(gone[n] = strdup(key)))
			goto nomem;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		log_info("%s %s: gone from the list, deleting", inf->res->kind,
			 gone[i]);
		delete_key(inf, gone[i]);
		free(gone[i]);
	}
	inf->deletes_on_relist += n;
	free(gone);
	return 0;
nomem:
	for (size_t i = 0; i < n; i++)
		free(gone[i]);
	free(gone);
	return -ENOMEM;
}

/* ---- requests --------------------------------------------------------------- */

static void arm_retry(struct sl_kube *k);
static void start(struct sl_informer *inf, bool list);

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud);

static unsigned int next_backoff(struct sl_informer *inf)
{
	unsigned int base = inf->backoff_ms ? inf->backoff_ms :
					      SL_KUBE_BACKOFF_MIN_MS;
	unsigned int d = base + (unsigned int)(random() % (base + 1)); /* jitter 1.0 */

	inf->backoff_ms = base * 2 > SL_KUBE_BACKOFF_MAX_MS ?
				  SL_KUBE_BACKOFF_MAX_MS : base * 2;
	return d > SL_KUBE_BACKOFF_MAX_MS ? SL_KUBE_BACKOFF_MAX_MS : d;
}

/* Wait ms, then list (relist) or watch from inf->rv. */
static void wait_then(struct sl_informer *inf, unsigned int ms, bool relist)
{
	inf->state = SL_INF_WAITING;
	inf->relist = relist;
	inf->next_at = now_ms() + ms;
	log_debug("%s: %s in %u ms", inf->res->name, relist ? "list" : "watch",
		  ms);
	arm_retry(inf->kube);
}

static void backoff(struct sl_informer *inf, bool relist, unsigned int at_least_ms)
{
	unsigned int ms = next_backoff(inf);

	inf->failures++;
	wait_then(inf, ms > at_least_ms ? ms : at_least_ms, relist);
}

static int refresh_token(struct sl_kube *k, bool force)
{
	char why[512], *tok = NULL;
	int err;

	if (!force && k->token_read_at &&
	    now_ms() - k->token_read_at < SL_KUBE_TOKEN_REFRESH_MS)
		return 0;
	err = sl_kubeconfig_read_token(&k->cfg, &tok, why, sizeof(why));
	if (err < 0) {
		snprintf(k->last_error, sizeof(k->last_error), "%s", why);
		log_error("%s; keeping the previous token", why);
		return err;
	}
	k->token_reads++;
	k->token_read_at = now_ms();
	if (tok && (!k->token || strcmp(tok, k->token)))
		log_info("bearer token %s from %s",
			 k->token ? "changed" : "read",
			 k->cfg.token_file ? k->cfg.token_file : k->cfg.origin);
	free(k->token);
	k->token = tok;
	return 0;
}

static void release(struct sl_informer *inf)
{
	if (inf->easy) {
		curl_multi_remove_handle(inf->kube->multi, inf->easy);
		curl_easy_cleanup(inf->easy);
		inf->easy = NULL;
	}
	curl_slist_free_all(inf->headers);
	inf->headers = NULL;
}

static void free_body(struct sl_informer *inf)
{
	free(inf->body);
	inf->body = NULL;
	inf->body_len = 0;
}

static void start(struct sl_informer *inf, bool list)
{
	struct sl_kube *k = inf->kube;
	char *url = NULL, *esc = NULL, *auth = NULL;
	CURL *e;
	int r;

	release(inf);
	free_body(inf);
	refresh_token(k, false);
	inf->code = 0;
	inf->after = AFTER_NONE;
	inf->started_at = now_ms();
	inf->watch_events = 0;
	if (list) {
		if (inf->cont)
			esc = curl_easy_escape(NULL, inf->cont, 0);
		/* No resourceVersion: a consistent read that honours limit
		 * (RV "0" would be served whole from the watch cache), and
		 * the right answer after a 410 as well. */
		if (inf->unpaged)
			r = asprintf(&url, "%s%s", k->base_url, inf->res->path);
		else
			r = asprintf(&url, "%s%s?limit=%d%s%s", k->base_url,
				     inf->res->path, SL_KUBE_PAGE_LIMIT,
				     esc ? "&continue=" : "", esc ? esc : "");
	} else {
		/* client-go's spread: watches of many agents do not all
		 * end, and hit the server, at once. */
		long timeout = 300 + random() % 301;

		esc = curl_easy_escape(NULL, inf->rv, 0);
		r = asprintf(&url, "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld",
			     k->base_url, inf->res->path, esc ? esc : "",
			     timeout);
	}
	curl_free(esc);
	if (r < 0 || !(e = curl_easy_init()) ||
	    (k->token && asprintf(&auth, "Authorization: Bearer %s", k->token) < 0))
		goto nomem;
	inf->easy = e;
	inf->headers = curl_slist_append(NULL, "Accept: application/json");
	if (!inf->headers || (auth && !curl_slist_append(inf->headers, auth)))
		goto nomem;
	free(auth);
	auth = NULL;
	if (!list && sl_watch_parser_init(&inf->parser) < 0)
		goto nomem;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, inf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, inf->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, inf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* A silent peer (a node that died) is found by keepalive. */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	if (list) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	} else {
		/* The server ends it at timeoutSeconds; this is the bound
		 * if it never does. */
		curl_easy_setopt(e, CURLOPT_TIMEOUT, 660L);
	}
	if (k->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, k->connect_to);
	if (k->cfg.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (k->cfg.ca_data) {
		struct curl_blob b = { k->cfg.ca_data, k->cfg.ca_data_len,
				       CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	} else if (k->cfg.ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, k->cfg.ca_file);
	}
	if (k->cfg.cert_data) {
		struct curl_blob b = { k->cfg.cert_data, k->cfg.cert_data_len,
				       CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
	} else if (k->cfg.cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, k->cfg.cert_file);
	}
	if (k->cfg.key_data) {
		struct curl_blob b = { k->cfg.key_data, k->cfg.key_data_len,
				       CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
	} else if (k->cfg.key_file) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, k->cfg.key_file);
	}
	if (curl_multi_add_handle(k->multi, e) != CURLM_OK)
		goto nomem;
	if (list) {
		inf->state = SL_INF_LISTING;
		log_debug("%s: LIST %s", inf->res->name, url);
	} else {
		inf->state = SL_INF_WATCHING;
		inf->watches++;
		log_debug("%s: WATCH %s", inf->res->name, url);
	}
	free(url);
	return;
nomem:
	free(url);
	free(auth);
	release(inf);
	sl_watch_parser_free(&inf->parser);
	set_error(inf, "cannot start a request: out of memory");
	log_error("%s: %s", inf->res->name, inf->last_error);
	backoff(inf, list, 0);
}

/* The next LIST starts from the first page. */
static void reset_list(struct sl_informer *inf)
{
	free(inf->cont);
	inf->cont = NULL;
	keys_clear(&inf->seen);
}

static void start_list(struct sl_informer *inf, bool fresh)
{
	if (fresh) {
		reset_list(inf);
		inf->lists++;
	}
	start(inf, true);
}

/* ---- the stream ------------------------------------------------------------- */

static int on_event(void *ctx, json_object *ev)
{
	struct sl_informer *inf = ctx;
	enum sl_watch_type type;
	json_object *obj;
	const char *rv;
	char why[256], key[600];
	int err;

	if (sl_watch_event_parse(ev, &type, &obj, &rv, why, sizeof(why)) < 0) {
		set_error(inf, "watch stream: %s; relisting", why);
		log_error("%s: %s", inf->res->name, inf->last_error);
		inf->after = AFTER_RELIST;
		return -EBADMSG;
	}
	inf->events++;
	inf->watch_events++;
	switch (type) {
	case SL_WATCH_ERROR: {
		json_object *code;
		int64_t c = json_object_object_get_ex(obj, "code", &code) ?
				    json_object_get_int64(code) : 0;
		const char *msg = str_at(obj, "message", NULL);
		const char *reason = str_at(obj, "reason", NULL);

		if (c == 410 || (reason && (!strcmp(reason, "Expired") ||
					    !strcmp(reason, "Gone")))) {
			log_info("%s: watch from RV %s expired (%s); relisting",
				 inf->res->name, inf->rv, msg ? msg : "410");
			inf->after = AFTER_RELIST_NOW;
		} else {
			set_error(inf, "watch ERROR event: %lld %s: %s",
				  (long long)c, reason ? reason : "",
				  msg ? msg : "");
			log_warn("%s: %s", inf->res->name, inf->last_error);
			inf->after = AFTER_BACKOFF;
		}
		return -ECANCELED;
	}
	case SL_WATCH_BOOKMARK:
		break;
	case SL_WATCH_ADDED:
	case SL_WATCH_MODIFIED:
		err = apply_object(inf, obj, false);
		if (err < 0) {
			/* Not applied: the RV must not move past it. */
			set_error(inf, "out of memory applying an event; relisting");
			inf->after = AFTER_RELIST;
			return err;
		}
		break;
	case SL_WATCH_DELETED:
		if (object_key(inf->res, obj, key, sizeof(key)) == 0)
			delete_key(inf, key);
		else {
			inf->skipped++;
			set_error(inf, "DELETED event without metadata.name; skipping it");
			log_warn("%s: %s", inf->res->name, inf->last_error);
		}
		break;
	}
	snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
	return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sl_informer *inf = ud;
	size_t n = size * nmemb;
	char why[256];
	int err;

	curl_easy_getinfo(inf->easy, CURLINFO_RESPONSE_CODE, &inf->code);
	if (inf->state == SL_INF_WATCHING && inf->code == 200) {
		err = sl_watch_parser_feed(&inf->parser, ptr, n, on_event, inf,
					   why, sizeof(why));
		if (err == -EBADMSG && inf->after == AFTER_NONE) {
			set_error(inf, "malformed watch stream after RV %s: %s; relisting",
				  inf->rv, why);
			log_error("%s: %s", inf->res->name, inf->last_error);
			inf->after = AFTER_RELIST;
		}
		/* Returning less than n ends the transfer; done() decides. */
		return err < 0 ? 0 : n;
	}
	if (inf->body_len + n > SL_LIST_MAX_BYTES) {
		set_error(inf, "response larger than %u bytes", SL_LIST_MAX_BYTES);
		return 0;
	}
	{
		char *b = realloc(inf->body, inf->body_len + n + 1);

		if (!b)
			return 0;
		inf->body = b;
	}
	memcpy(inf->body + inf->body_len, ptr, n);
	inf->body_len += n;
	inf->body[inf->body_len] = '\0';
	return n;
}

/* ---- completions -------------------------------------------------------------- */

static json_object *parse_body(struct sl_informer *inf)
{
	json_tokener *tok = json_tokener_new_ex(SL_WATCH_MAX_DEPTH);
	json_object *o = NULL;

	if (!tok || !inf->body || inf->body_len > INT_MAX)
		goto out;
	o = json_tokener_parse_ex(tok, inf->body, (int)inf->body_len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
out:
	if (tok)
		json_tokener_free(tok);
	return o;
}

/* "410 Expired: too old resource version" from a Status body, if any. */
static void describe_status(struct sl_informer *inf, char *buf, size_t len)
{
	json_object *st = parse_body(inf);
	const char *reason = str_at(st, "reason", NULL);
	const char *msg = str_at(st, "message", NULL);

	snprintf(buf, len, "HTTP %ld%s%s%s%.300s", inf->code,
		 reason ? " " : "", reason ? reason : "", msg ? ": " : "",
		 msg ? msg : "");
	json_object_put(st);
}

static void check_synced(struct sl_kube *k)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->inf[i].res->required && !k->inf[i].listed)
			return;
	if (!k->synced)
		log_info("initial sync done: pods, namespaces, services, endpoint slices and network policies listed");
	k->synced = true;
}

static void list_page_done(struct sl_informer *inf)
{
	json_object *page = parse_body(inf), *items, *meta;
	const char *rv, *cont;
	size_t n = 0;
	int err = 0;

	if (!page || !json_object_object_get_ex(page, "items", &items) ||
	    !(json_object_is_type(items, json_type_array) ||
	      json_object_is_type(items, json_type_null)) ||
	    !json_object_object_get_ex(page, "metadata", &meta) ||
	    !(rv = str_at(meta, "resourceVersion", NULL)) || !rv[0] ||
	    strlen(rv) >= sizeof(inf->list_rv)) {
		json_object_put(page);
		set_error(inf, "LIST answered something that is not a %sList; retrying",
			  inf->res->kind);
		log_error("%s: %s", inf->res->name, inf->last_error);
		reset_list(inf);
		backoff(inf, true, 0);
		return;
	}
	inf->pages++;
	/* Every page is read at the first page's RV. */
	if (!inf->cont)
		snprintf(inf->list_rv, sizeof(inf->list_rv), "%s", rv);
	if (json_object_is_type(items, json_type_array))
		n = json_object_array_length(items);
	for (size_t i = 0; i < n && !err; i++)
		err = apply_object(inf, json_object_array_get_idx(items, i),
				   true);
	cont = str_at(meta, "continue", NULL);
	free(inf->cont);
	inf->cont = cont && cont[0] ? strdup(cont) : NULL;
	json_object_put(page);
	if (err < 0 || (cont && cont[0] && !inf->cont)) {
		set_error(inf, "out of memory while listing; retrying");
		log_error("%s: %s", inf->res->name, inf->last_error);
		reset_list(inf);
		backoff(inf, true, 0);
		return;
	}
	if (inf->cont) {
		start_list(inf, false);
		return;
	}
	if (replace_done(inf) < 0) {
		set_error(inf, "out of memory while listing; retrying");
		reset_list(inf);
		backoff(inf, true, 0);
		return;
	}
	snprintf(inf->rv, sizeof(inf->rv), "%s", inf->list_rv);
	log_info("%s: listed %zu at RV %s (%lu pages so far); watching",
		 inf->res->name, inf->seen.len, inf->rv, inf->pages);
	keys_clear(&inf->seen);
	inf->unpaged = false;
	inf->listed = true;
	inf->backoff_ms = 0;
	inf->last_error[0] = '\0';
	check_synced(inf->kube);
	start(inf, false);
}

/* 401: the token may have rotated under us. */
static void unauthorized(struct sl_informer *inf, bool list, const char *what)
{
	struct sl_kube *k = inf->kube;
	char *before = k->token ? strdup(k->token) : NULL;
	bool changed;

	k->unauthorized++;
	refresh_token(k, true);
	changed = k->token && (!before || strcmp(before, k->token));
	free(before);
	set_error(inf, "%s: %s", list ? "LIST" : "WATCH", what);
	if (changed) {
		log_info("%s: %s; retrying with the new token", inf->res->name,
			 what);
		inf->failures++;
		wait_then(inf, 0, list);
	} else {
		/* With a client certificate alone there is no token to
		 * refresh: say what was refused instead. */
		log_error("%s: %s; %s, backing off", inf->res->name, what,
			  k->token ? "the token did not change" :
			  "no token (client certificate refused?)");
		backoff(inf, list, 0);
	}
}

static void done(struct sl_informer *inf, CURLcode res)
{
	bool list = inf->state == SL_INF_LISTING;
	uint64_t lasted = now_ms() - inf->started_at;
	curl_off_t retry_after = 0;
	char what[512];

	curl_easy_getinfo(inf->easy, CURLINFO_RESPONSE_CODE, &inf->code);
	curl_easy_getinfo(inf->easy, CURLINFO_RETRY_AFTER, &retry_after);
	release(inf);
	if (!list)
		sl_watch_parser_free(&inf->parser);

	if (inf->after == AFTER_RELIST_NOW) {
		inf->relists++;
		start_list(inf, true);
	} else if (inf->after == AFTER_RELIST) {
		inf->relists++;
		backoff(inf, true, 0);
	} else if (inf->after == AFTER_BACKOFF) {
		backoff(inf, false, 0);
	} else if (res != CURLE_OK) {
		/* A write error we caused already said why. */
		if (res != CURLE_WRITE_ERROR || !inf->last_error[0])
			set_error(inf, "%s: %s", list ? "LIST" : "WATCH",
				  curl_easy_strerror(res));
		log_warn("%s: %s after %llu ms; %s", inf->res->name,
			 inf->last_error, (unsigned long long)lasted,
			 list ? "listing again" : "resuming the watch");
		if (list)
			reset_list(inf);
		backoff(inf, list, 0);
	} else if (inf->code == 200 && list) {
		list_page_done(inf);
	} else if (inf->code == 200) {
		/* A watch that ends at once without events is a failure
		 * (client-go's "very short watch"): do not spin on it. */
		if (lasted < 1000 && !inf->watch_events) {
			set_error(inf, "watch ended after %llu ms without events",
				  (unsigned long long)lasted);
			log_warn("%s: %s; backing off", inf->res->name,
				 inf->last_error);
			backoff(inf, false, 0);
		} else {
			log_debug("%s: watch ended after %llu ms, %lu events; resuming from RV %s",
				  inf->res->name, (unsigned long long)lasted,
				  inf->watch_events, inf->rv);
			inf->backoff_ms = 0;
			start(inf, false);
		}
	} else {
		describe_status(inf, what, sizeof(what));
		if (inf->code == 410) {
			/* An expired continue token, or a watch from a
			 * compacted RV: only a fresh list can catch up. A
			 * list whose pages outlive their token is asked for
			 * whole (client-go's pager does the same), so a slow
			 * list cannot expire forever. */
			bool expired_continue = list && inf->cont;

			log_info("%s: %s %s; %s", inf->res->name,
				 list ? "LIST" : "WATCH", what,
				 expired_continue ? "listing again, unpaginated" :
						    "relisting");
			inf->relists++;
			inf->unpaged = expired_continue;
			start_list(inf, true);
		} else if (inf->code == 401) {
			unauthorized(inf, list, what);
		} else {
			set_error(inf, "%s: %s", list ? "LIST" : "WATCH", what);
			log_warn("%s: %s; backing off", inf->res->name,
				 inf->last_error);
			/* The continue token may be what it objected to. */
			if (list)
				reset_list(inf);
			backoff(inf, list,
				retry_after > 0 ? (unsigned int)(retry_after > 30 ?
								  30 : retry_after) * 1000 : 0);
		}
	}
	free_body(inf);
}

/* ---- libcurl multi on the agent's epoll ------------------------------------------- */

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp,
		     void *sockp)
{
	struct sl_kube *k = userp;
	struct epoll_event ev = { .data.fd = s };

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		/* ENOENT/EBADF when curl already closed it: nothing to do. */
		epoll_ctl(k->epoll_fd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(k->multi, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(k->epoll_fd, sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s,
		      &ev) < 0 &&
	    epoll_ctl(k->epoll_fd, sockp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s,
		      &ev) < 0) {
		log_error("cannot watch curl's socket %d: %s", s,
			  strerror(errno));
		return -1;
	}
	curl_multi_assign(k->multi, s, &present);
	return 0;
}

static void arm_fd(int fd, uint64_t ms, bool absolute)
{
	struct itimerspec its = {};

	if (absolute || ms) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	}
	if (!absolute && !ms)
		its.it_value.tv_nsec = 1; /* now; zero would disarm */
	timerfd_settime(fd, absolute ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct sl_kube *k = userp;
	struct itimerspec off = {};

	(void)multi;
	if (timeout_ms < 0)
		timerfd_settime(k->timer_fd, 0, &off, NULL);
	else
		arm_fd(k->timer_fd, (uint64_t)timeout_ms, false);
	return 0;
}

static void arm_retry(struct sl_kube *k)
{
	uint64_t next = 0;
	struct itimerspec off = {};

	for (size_t i = 0; i < k->n; i++)
		if (k->inf[i].state == SL_INF_WAITING &&
		    (!next || k->inf[i].next_at < next))
			next = k->inf[i].next_at;
	if (!next) {
		timerfd_settime(k->retry_fd, 0, &off, NULL);
		return;
	}
	/* CLOCK_MONOTONIC absolute, the clock now_ms() reads; never 0. */
	arm_fd(k->retry_fd, next ? next : 1, true);
}

static void read_done(struct sl_kube *k)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(k->multi, &left))) {
		struct sl_informer *inf = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &inf);
		if (inf && inf->easy == msg->easy_handle)
			done(inf, msg->data.result);
	}
}

static void run_due(struct sl_kube *k)
{
	uint64_t now = now_ms();

	for (size_t i = 0; i < k->n; i++) {
		struct sl_informer *inf = &k->inf[i];

		if (inf->state != SL_INF_WAITING || inf->next_at > now)
			continue;
		if (inf->relist)
			start_list(inf, !inf->cont);
		else
			start(inf, false);
	}
	arm_retry(k);
}

static void drain(int fd)
{
	uint64_t n;

	while (read(fd, &n, sizeof(n)) > 0)
		;
}

void sl_kube_handle(struct sl_kube *k, int fd, uint32_t events)
{
	int running, flags = 0;

	if (fd == k->timer_fd) {
		drain(fd);
		curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0,
					 &running);
	} else if (fd == k->retry_fd) {
		drain(fd);
		run_due(k);
	} else {
		if (events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(k->multi, fd, flags, &running);
	}
	read_done(k);
}

/* tls-server-name: ask for that name in the URL (SNI and verification)
 * and connect where the server field points (CURLOPT_CONNECT_TO). */
static int setup_server_name(struct sl_kube *k)
{
	const char *url = k->cfg.server, *hostp = strstr(url, "://") + 3;
	size_t alen = strcspn(hostp, "/");
	const char *port = NULL;
	char auth[512], *p, *ct;

	snprintf(auth, sizeof(auth), "%.*s", (int)alen, hostp);
	if (auth[0] == '[') {
		p = strchr(auth, ']');
		if (p && p[1] == ':') {
			p[1] = '\0';
			port = p + 2;
		}
	} else if ((p = strrchr(auth, ':'))) {
		*p = '\0';
		port = p + 1;
	}
	if (!port || !port[0])
		port = strncmp(url, "https:", 6) ? "80" : "443";
	if (asprintf(&ct, "%s:%s:%s:%s", k->cfg.tls_server_name, port, auth,
		     port) < 0)
		return -ENOMEM;
	k->connect_to = curl_slist_append(NULL, ct);
	free(ct);
	if (!k->connect_to ||
	    asprintf(&k->base_url, "%.*s%s:%s%s", (int)(hostp - url), url,
		     k->cfg.tls_server_name, port, hostp + alen) < 0)
		return -ENOMEM;
	return 0;
}

int sl_kube_open(struct sl_kube *k, struct sl_kube_config *cfg,
		 struct sl_model *model, int epoll_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	memset(k, 0, sizeof(*k));
	k->timer_fd = k->retry_fd = -1;
	k->epoll_fd = epoll_fd;
	k->model = model;
	k->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	k->enabled = true;
	srandom((unsigned int)(now_ms() ^ (uint64_t)getpid()));

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	k->multi = curl_multi_init();
	if (!k->multi)
		return -ENOMEM;
	if (k->cfg.tls_server_name)
		err = setup_server_name(k);
	else
		err = (k->base_url = strdup(k->cfg.server)) ? 0 : -ENOMEM;
	if (err)
		return err;
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
	k->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	k->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (k->timer_fd < 0 || k->retry_fd < 0)
		return -errno;
	ev.data.fd = k->timer_fd;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, k->timer_fd, &ev) < 0)
		return -errno;
	ev.data.fd = k->retry_fd;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, k->retry_fd, &ev) < 0)
		return -errno;

	if ((err = refresh_token(k, true)) < 0)
		return err;
	for (size_t i = 0; i < SL_KUBE_RESOURCES; i++) {
		struct sl_informer *inf = &k->inf[k->n++];

		inf->res = &sl_kube_resources[i];
		inf->kube = k;
		sl_table_init(&inf->seen);
		sl_table_init(&inf->keys);
	}
	log_info("API server %s (%s)%s%s", k->cfg.server, k->cfg.origin,
		 k->cfg.tls_server_name ? ", verified as " : "",
		 k->cfg.tls_server_name ? k->cfg.tls_server_name : "");
	return 0;
}

int sl_kube_start(struct sl_kube *k)
{
	for (size_t i = 0; i < k->n; i++)
		start_list(&k->inf[i], true);
	return 0;
}

static const char *const state_names[] = {
	[SL_INF_IDLE] = "idle",
	[SL_INF_LISTING] = "listing",
	[SL_INF_WATCHING] = "watching",
	[SL_INF_WAITING] = "waiting",
};

json_object *sl_kube_status(const struct sl_kube *k)
{
	json_object *o = json_object_new_object(), *res = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("api"));
	json_object_object_add(o, "server", json_object_new_string(k->cfg.server));
	json_object_object_add(o, "config", json_object_new_string(k->cfg.origin));
	json_object_object_add(o, "synced", json_object_new_boolean(k->synced));
	json_object_object_add(o, "tokenReads",
			       json_object_new_int64((int64_t)k->token_reads));
	json_object_object_add(o, "unauthorized",
			       json_object_new_int64((int64_t)k->unauthorized));
	json_object_object_add(o, "lastError", json_object_new_string(k->last_error));
	for (size_t i = 0; i < k->n; i++) {
		const struct sl_informer *inf = &k->inf[i];
		json_object *r = json_object_new_object();
		size_t count = inf->res->model_kind == SL_KIND_OTHER ?
				       inf->keys.len :
				       sl_model_count(k->model, inf->res->model_kind);

		json_object_object_add(r, "listed", json_object_new_boolean(inf->listed));
		json_object_object_add(r, "state", json_object_new_string(state_names[inf->state]));
		json_object_object_add(r, "resourceVersion", json_object_new_string(inf->rv));
		json_object_object_add(r, "objects", json_object_new_int64((int64_t)count));
		json_object_object_add(r, "decoded", json_object_new_boolean(
			inf->res->model_kind != SL_KIND_OTHER));
		json_object_object_add(r, "lists", json_object_new_int64((int64_t)inf->lists));
		json_object_object_add(r, "pages", json_object_new_int64((int64_t)inf->pages));
		json_object_object_add(r, "watches", json_object_new_int64((int64_t)inf->watches));
		json_object_object_add(r, "events", json_object_new_int64((int64_t)inf->events));
		json_object_object_add(r, "relists", json_object_new_int64((int64_t)inf->relists));
		json_object_object_add(r, "failures", json_object_new_int64((int64_t)inf->failures));
		json_object_object_add(r, "skipped", json_object_new_int64((int64_t)inf->skipped));
		json_object_object_add(r, "deletedOnRelist",
				       json_object_new_int64((int64_t)inf->deletes_on_relist));
		json_object_object_add(r, "lastError", json_object_new_string(inf->last_error));
		json_object_object_add(res, inf->res->name, r);
	}
	json_object_object_add(o, "resources", res);
	return o;
}

void sl_kube_close(struct sl_kube *k)
{
	if (!k->enabled)
		return;
	for (size_t i = 0; i < k->n; i++) {
		struct sl_informer *inf = &k->inf[i];

		release(inf);
		free_body(inf);
		sl_watch_parser_free(&inf->parser);
		free(inf->cont);
		sl_table_free(&inf->seen);
		sl_table_free(&inf->keys);
	}
	if (k->multi)
		curl_multi_cleanup(k->multi);
	curl_global_cleanup();
	if (k->timer_fd >= 0)
		close(k->timer_fd);
	if (k->retry_fd >= 0)
		close(k->retry_fd);
	curl_slist_free_all(k->connect_to);
	free(k->base_url);
	free(k->token);
	sl_kubeconfig_free(&k->cfg);
	memset(k, 0, sizeof(*k));
	k->timer_fd = k->retry_fd = -1;
}
