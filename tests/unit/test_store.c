// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPAM and endpoint records, in a temporary runDir (no root needed). */
#include "unit.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	struct sl_store store;
	struct sl_ipv4_net pool;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/sluice-unit-XXXXXX");
	if (!mkdtemp(f->dir) || sl_store_open(&f->store, f->dir, true) < 0)
		return -1;
	sl_parse_ipv4_cidr("10.9.0.0/29", &f->pool); /* .1 to .6 */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	sl_store_close(&f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static int alloc(struct fixture *f, const char *id, const char *ifname,
		 uint32_t *ip, bool *existed)
{
	struct sl_ep_record rec = {};
	bool ex;
	int ret;

	snprintf(rec.container_id, sizeof(rec.container_id), "%s", id);
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", ifname);
	strcpy(rec.pod.namespace, "ns");
	strcpy(rec.pod.name, id);
	assert_int_equal(sl_store_lock(&f->store), 0);
	ret = sl_store_allocate(&f->store, &f->pool, &rec, &ex);
	sl_store_unlock(&f->store);
	if (ip)
		*ip = rec.ip;
	if (existed)
		*existed = ex;
	return ret;
}

static void release(struct fixture *f, const char *id, const char *ifname,
		    uint32_t ip)
{
	struct sl_ep_record rec = { .ip = ip };

	snprintf(rec.container_id, sizeof(rec.container_id), "%s", id);
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", ifname);
	assert_int_equal(sl_store_release(&f->store, &rec), 0);
}

static void test_sequential_and_idempotent(void **state)
{
	struct fixture *f = *state;
	uint32_t a, b, again;
	bool existed;

	assert_int_equal(alloc(f, "a", "eth0", &a, &existed), 0);
	assert_false(existed);
	assert_int_equal(a, 0x0a090001);
	assert_int_equal(alloc(f, "b", "eth0", &b, NULL), 0);
	assert_int_equal(b, 0x0a090002);
	/* Same (container, ifname): same address back, nothing new used. */
	assert_int_equal(alloc(f, "a", "eth0", &again, &existed), 0);
	assert_true(existed);
	assert_int_equal(again, a);
	/* Another ifname of the same container is another attachment. */
	assert_int_equal(alloc(f, "a", "eth1", &again, &existed), 0);
	assert_false(existed);
	assert_int_equal(again, 0x0a090003);
}

static void test_exhaustion_and_round_robin(void **state)
{
	struct fixture *f = *state;
	char id[8];
	uint32_t ip;
	uint64_t used, size;

	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(alloc(f, id, "eth0", &ip, NULL), 0);
		assert_int_equal(ip, 0x0a090001 + (uint32_t)i);
	}
	assert_int_equal(alloc(f, "extra", "eth0", &ip, NULL), -ENOSPC);
	assert_int_equal(sl_store_usage(&f->store, &f->pool, &used, &size), 0);
	assert_int_equal(used, 6);
	assert_int_equal(size, 6);

	/* Freeing .2 makes exactly .2 available; the next address after the
	 * last allocation is tried first, wrapping around. */
	release(f, "c1", "eth0", 0x0a090002);
	assert_int_equal(alloc(f, "new", "eth0", &ip, NULL), 0);
	assert_int_equal(ip, 0x0a090002);
}

static void test_round_robin_skips_recently_freed(void **state)
{
	struct fixture *f = *state;
	uint32_t a, b, c;

	assert_int_equal(alloc(f, "a", "eth0", &a, NULL), 0);
	release(f, "a", "eth0", a);
	assert_int_equal(alloc(f, "b", "eth0", &b, NULL), 0);
	assert_int_not_equal(a, b);
	assert_int_equal(alloc(f, "c", "eth0", &c, NULL), 0);
	assert_int_equal(c, b + 1);
}

static void test_release_only_own(void **state)
{
	struct fixture *f = *state;
	struct sl_ep_record rec;
	uint32_t a;

	assert_int_equal(alloc(f, "owner", "eth0", &a, NULL), 0);
	release(f, "stranger", "eth0", a);
	assert_int_equal(sl_store_find(&f->store, "owner", "eth0", &rec), 0);
	assert_int_equal(rec.ip, a);
	assert_string_equal(rec.pod.name, "owner");
	release(f, "owner", "eth0", a);
	assert_int_equal(sl_store_find(&f->store, "owner", "eth0", &rec),
			 -ENOENT);
	/* Releasing what is gone is fine. */
	release(f, "owner", "eth0", a);
}

static void test_update_and_corrupt_records(void **state)
{
	struct fixture *f = *state;
	struct sl_ep_record rec;
	char path[128];
	uint32_t a, b;
	FILE *fp;

	assert_int_equal(alloc(f, "x", "eth0", &a, NULL), 0);
	assert_int_equal(sl_store_find(&f->store, "x", "eth0", &rec), 0);
	strcpy(rec.host_veth, "sl0123");
	rec.host_ifindex = 42;
	rec.host_mac[5] = 0xaa;
	rec.pod_mac[0] = 0x02;
	rec.mtu = 1450;
	assert_int_equal(sl_store_update(&f->store, &rec), 0);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(sl_store_find(&f->store, "x", "eth0", &rec), 0);
	assert_string_equal(rec.host_veth, "sl0123");
	assert_int_equal(rec.host_ifindex, 42);
	assert_int_equal(rec.host_mac[5], 0xaa);
	assert_int_equal(rec.pod_mac[0], 0x02);
	assert_int_equal(rec.mtu, 1450);

	/* A garbage record still holds its address and is skipped. */
	snprintf(path, sizeof(path), "%s/endpoints/10.9.0.2", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{not json", fp);
	fclose(fp);
	assert_int_equal(alloc(f, "y", "eth0", &b, NULL), 0);
	assert_int_equal(b, 0x0a090003);
}

static void test_record_json_rejects(void **state)
{
	struct sl_ep_record rec;
	const char *bad[] = {
		"{}",
		"{\"containerID\":\"a\",\"ifname\":\"eth0\",\"ip\":\"x\"}",
		"{\"containerID\":1,\"ifname\":\"eth0\",\"ip\":\"10.0.0.1\"}",
		"{\"containerID\":\"a\",\"ifname\":\"eth0123456789abcdef\",\"ip\":\"10.0.0.1\"}",
		"{\"containerID\":\"a\",\"ifname\":\"eth0\",\"ip\":\"10.0.0.1\","
		"\"hostVeth\":\"v\",\"hostMAC\":\"zz\",\"podMAC\":\"02:00:00:00:00:01\","
		"\"hostIfindex\":3}",
		"[]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sl_record_from_json(bad[i], strlen(bad[i]), &rec),
				 -EINVAL);
}

/* Processes racing for addresses under the flock get distinct ones. */
static void test_concurrent_allocation(void **state)
{
	struct fixture *f = *state;
	struct sl_ipv4_net big;
	uint64_t used, size;
	const int n = 16;

	sl_parse_ipv4_cidr("10.10.0.0/24", &big);
	f->pool = big;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct sl_store s;
			struct sl_ep_record rec = {};
			bool ex;
			int ret;

			snprintf(rec.container_id, sizeof(rec.container_id),
				 "p%d", i);
			strcpy(rec.ifname, "eth0");
			if (sl_store_open(&s, f->dir, false) < 0 || sl_store_lock(&s) < 0)
				_exit(1);
			ret = sl_store_allocate(&s, &big, &rec, &ex);
			sl_store_unlock(&s);
			_exit(ret == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < n; i++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* Distinct files are distinct addresses: n files means no clash. */
	assert_int_equal(sl_store_usage(&f->store, &big, &used, &size), 0);
	assert_int_equal(used, n);
	assert_int_equal(size, 254);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sequential_and_idempotent,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_and_round_robin,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_robin_skips_recently_freed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_only_own, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_update_and_corrupt_records,
						setup, teardown),
		cmocka_unit_test(test_record_json_rejects),
		cmocka_unit_test_setup_teardown(test_concurrent_allocation,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
