/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The API server source: one informer per resource (LIST with pagination,
 * then WATCH from the list's resourceVersion, relist on 410), all on the
 * agent's epoll through libcurl's multi interface. No threads: every
 * callback runs from sl_kube_handle().
 *
 * Objects of the kinds the model knows (Pods, Namespaces, Nodes) are
 * decoded and upserted with owner SL_KUBE_OWNER; the other resources are
 * watched and counted so their sync state is visible before they are used.
 */
#ifndef SL_AGENT_K8S_WATCH_H
#define SL_AGENT_K8S_WATCH_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "k8s.h"
#include "kubeconfig.h"
#include "model.h"
#include "table.h"

#define SL_KUBE_OWNER "api"
#define SL_KUBE_PAGE_LIMIT 500
/* An event larger than this is a broken stream (etcd's limit is 1.5 MB). */
#define SL_WATCH_MAX_EVENT (16u << 20)
#define SL_WATCH_MAX_DEPTH 64
#define SL_LIST_MAX_BYTES (256u << 20)
#define SL_KUBE_TOKEN_REFRESH_MS 60000
#define SL_KUBE_BACKOFF_MIN_MS 800
#define SL_KUBE_BACKOFF_MAX_MS 30000

/* --- the watch stream parser ----------------------------------------------- */

/*
 * The API server ends every watch event with a newline, and strict JSON
 * has no raw newline inside a value, so the parser assembles lines and
 * hands each whole line to json-c: where the network cut the stream never
 * reaches json-c, whose number and string handling differs between a
 * value fed at once and one fed in pieces.
 */
struct sl_watch_parser {
	json_tokener *tok;
	char *line;    /* bytes of the current, unfinished line */
	size_t len;    /* used */
	size_t cap;    /* allocated */
};

/* Called once per complete JSON value; a negative return stops feeding. */
typedef int (*sl_watch_value_fn)(void *ctx, json_object *value);

int sl_watch_parser_init(struct sl_watch_parser *p);
void sl_watch_parser_reset(struct sl_watch_parser *p);
void sl_watch_parser_free(struct sl_watch_parser *p);

/**
 * sl_watch_parser_feed - feed the next bytes of a watch body
 *
 * Chunk boundaries are arbitrary: a value may span calls and a call may
 * hold several values; values are newline-terminated (several on one
 * line are accepted too). A line longer than SL_WATCH_MAX_EVENT is an
 * error. Returns 0, the callback's negative return, or -EBADMSG with @why
 * set when a line is not a sequence of JSON objects (the parser must then
 * be reset).
 */
int sl_watch_parser_feed(struct sl_watch_parser *p, const char *buf,
			 size_t len, sl_watch_value_fn fn, void *ctx, char *why,
			 size_t why_len);

enum sl_watch_type {
	SL_WATCH_ADDED,
	SL_WATCH_MODIFIED,
	SL_WATCH_DELETED,
	SL_WATCH_BOOKMARK,
	SL_WATCH_ERROR,
};

/**
 * sl_watch_event_parse - check one watch event's envelope
 * @ev: {"type":T,"object":{...}}
 * @obj: out: the object (borrowed from @ev)
 * @rv: out: object.metadata.resourceVersion, or NULL (ERROR events have
 *      none); for the other types a missing one is malformed
 *
 * Returns 0 or -EBADMSG with @why set.
 */
int sl_watch_event_parse(json_object *ev, enum sl_watch_type *type,
			 json_object **obj, const char **rv, char *why,
			 size_t why_len);

/* --- informers --------------------------------------------------------------- */

struct sl_resource {
	const char *name;        /* "pods": for logs, status and the fake's stats */
	const char *path;        /* collection path, all namespaces */
	const char *api_version; /* filled into list items, which lack it */
	const char *kind;
	enum sl_kind model_kind; /* SL_KIND_OTHER: watched and counted only */
	bool namespaced;
	bool required;           /* listed before the maps are written */
};

enum sl_informer_state {
	SL_INF_IDLE,
	SL_INF_LISTING,
	SL_INF_WATCHING,
	SL_INF_WAITING, /* backing off, or a retry is due */
};

struct sl_kube;

struct sl_informer {
	const struct sl_resource *res;
	struct sl_kube *kube;
	enum sl_informer_state state;
	CURL *easy;
	struct curl_slist *headers;
	char *body;       /* LIST page, or an error Status */
	size_t body_len;
	long code;        /* HTTP status of the transfer in flight */
	int after;        /* what the stream decided (enum in k8s_watch.c) */
	struct sl_watch_parser parser;

	char rv[128];      /* resume point: last event's or list's RV */
	char list_rv[128]; /* the list in progress's snapshot RV */
	char *cont;        /* its continue token */
	bool listed;       /* a full LIST has completed once */
	bool relist;       /* the WAITING state ends in a LIST */
	bool unpaged;      /* pages expired: the next LIST asks for all at once */
	struct sl_table seen; /* keys in the LIST in progress */
	struct sl_table keys; /* SL_KIND_OTHER: the current objects */

	uint64_t next_at;   /* WAITING: monotonic ms */
	uint64_t started_at;
	unsigned int backoff_ms;
	unsigned long watch_events; /* in the current watch */

	unsigned long lists, pages, watches, events, relists, failures,
		skipped, deletes_on_relist;
	char last_error[512];
};

#define SL_KUBE_RESOURCES 6

struct sl_kube {
	bool enabled;
	struct sl_kube_config cfg;
	struct sl_model *model;
	CURLM *multi;
	int epoll_fd, timer_fd, retry_fd;
	char *base_url;               /* server, or tls-server-name's URL */
	struct curl_slist *connect_to; /* tls-server-name: where to connect */
	char *token;
	uint64_t token_read_at;
	unsigned long token_reads, unauthorized;
	bool synced; /* every required informer has listed once */
	struct sl_informer inf[SL_KUBE_RESOURCES];
	size_t n;
	char last_error[512];
};

/**
 * sl_kube_open - set up the client and its informers
 * @cfg: moved in (cleared) on success
 * @epoll_fd: where curl's sockets and the timers are registered
 *
 * Reads the token once so a missing token file fails at start-up.
 */
int sl_kube_open(struct sl_kube *k, struct sl_kube_config *cfg,
		 struct sl_model *model, int epoll_fd);
/* Start every informer's first LIST. */
int sl_kube_start(struct sl_kube *k);
/* An fd from epoll that is not the agent's own: curl's or our timers'. */
void sl_kube_handle(struct sl_kube *k, int fd, uint32_t events);
json_object *sl_kube_status(const struct sl_kube *k);
void sl_kube_close(struct sl_kube *k);

/* The resources and their paths (exposed for tests). */
extern const struct sl_resource sl_kube_resources[SL_KUBE_RESOURCES];

#endif /* SL_AGENT_K8S_WATCH_H */
