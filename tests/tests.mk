# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make test            every suite below, after installing what they need
# make test-unit       cmocka unit tests under ASan/UBSan (no root)
# make test-fakeapi    the fake API server's self-test
# make test-fuzz       the config/CNI_ARGS/record, manifest parser, watch
#                      stream, object decoder and HTTP request fuzzers,
#                      FUZZ_SECS long each
# make test-datapath   BPF_PROG_TEST_RUN suite (root)
# make test-e2e        plugin end to end in network namespaces (root)
# make test-conformance  ADD/CHECK/DEL through libcni, chaining (root)
# make test-manifests  manifests/, Dockerfile, hack/image/ offline (scripts part: root)
# TEST=name            run one case of a suite

FUZZ_SECS ?= 30

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TEST_CPPFLAGS := -Icni -Iagent -Itests/unit

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/unit.h \
		       $(call san_obj,$(LIB_SRCS))
	$(call msg,LD-TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(SAN_FLAGS) $(WARN) -std=gnu11 $(CPPFLAGS) $(TEST_CPPFLAGS) \
		$(NL_CFLAGS) $(filter %.c %.o,$^) -o $@ $(LDLIBS) -lcmocka

FUZZ_LIB := cni/conf.c cni/env.c cni/errors.c common/store.c common/ipv4.c common/log.c common/fsutil.c
$(BUILD)/tests/fuzz_conf: tests/fuzz/fuzz_conf.c $(FUZZ_LIB) $(BPF_SKEL)
	$(call msg,LD-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) -std=gnu11 \
		$(CPPFLAGS) $(TEST_CPPFLAGS) $(NL_CFLAGS) tests/fuzz/fuzz_conf.c \
		$(FUZZ_LIB) -o $@ $(LDLIBS)

$(BUILD)/tests/fuzz_manifest: tests/fuzz/fuzz_manifest.c agent/manifest.c \
			      agent/manifest.h common/log.c
	$(call msg,LD-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) -std=gnu11 \
		$(CPPFLAGS) -Iagent $(NL_CFLAGS) tests/fuzz/fuzz_manifest.c \
		agent/manifest.c common/log.c -o $@ $(LDLIBS)

FUZZ_WATCH_LIB := agent/k8s_watch.c agent/k8s.c agent/k8s_decode.c \
		  agent/k8s_service.c agent/k8s_policy.c agent/model.c \
		  agent/table.c agent/kubeconfig.c agent/manifest.c \
		  common/fsutil.c common/ipv4.c common/log.c
$(BUILD)/tests/fuzz_watch: tests/fuzz/fuzz_watch.c $(FUZZ_WATCH_LIB) \
			   agent/k8s_watch.h
	$(call msg,LD-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) -std=gnu11 \
		$(CPPFLAGS) -Iagent $(NL_CFLAGS) tests/fuzz/fuzz_watch.c \
		$(FUZZ_WATCH_LIB) -o $@ $(LDLIBS)

FUZZ_OBJECT_LIB := agent/k8s.c agent/k8s_decode.c agent/k8s_service.c \
		   agent/k8s_policy.c common/ipv4.c
$(BUILD)/tests/fuzz_object: tests/fuzz/fuzz_object.c $(FUZZ_OBJECT_LIB) \
			    agent/k8s.h agent/k8s_decode.h
	$(call msg,LD-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) -std=gnu11 \
		$(CPPFLAGS) -Iagent $(NL_CFLAGS) tests/fuzz/fuzz_object.c \
		$(FUZZ_OBJECT_LIB) -o $@ $(LDLIBS)

$(BUILD)/tests/fuzz_http: tests/fuzz/fuzz_http.c agent/http.c agent/http.h \
			  common/log.c
	$(call msg,LD-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) -std=gnu11 \
		$(CPPFLAGS) -Iagent tests/fuzz/fuzz_http.c agent/http.c \
		common/log.c -o $@ $(LDLIBS)

FUZZ_EVENTS_LIB := agent/flows.c common/ipv4.c common/reasons.c
$(BUILD)/tests/fuzz_events: tests/fuzz/fuzz_events.c $(FUZZ_EVENTS_LIB) \
			    agent/flows.h
	$(call msg,LD-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) -std=gnu11 \
		$(CPPFLAGS) -Iagent tests/fuzz/fuzz_events.c \
		$(FUZZ_EVENTS_LIB) -o $@ $(LDLIBS)

SL_CNIRUN := $(BUILD)/bin/sl-cnirun
$(SL_CNIRUN): hack/cnirun/main.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd hack/cnirun && GO111MODULE=off GOPATH=/usr/share/gocode \
		GOCACHE=$(abspath $(BUILD))/gocache go build -o $(abspath $@) .

# The fake Kubernetes API server the agent's API source is tested against.
SL_FAKEAPI := $(BUILD)/bin/sl-fakeapi
$(SL_FAKEAPI): $(wildcard tests/fakeapi/*.go)
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd tests/fakeapi && GO111MODULE=off GOCACHE=$(abspath $(BUILD))/gocache \
		go build -o $(abspath $@) .

-include tests/datapath/datapath.mk

.PHONY: test test-deps test-unit test-fuzz test-e2e test-conformance test-fakeapi test-manifests
test-deps:
	$(Q)hack/deps.sh test

test: test-deps
	$(Q)$(MAKE) --no-print-directory all $(SL_CNIRUN) $(BUILD)/san/bin/sluice
	$(Q)$(MAKE) --no-print-directory test-unit
	$(Q)$(MAKE) --no-print-directory test-fakeapi
	$(Q)$(MAKE) --no-print-directory test-fuzz
	$(Q)$(MAKE) --no-print-directory test-datapath
	$(Q)$(MAKE) --no-print-directory test-e2e
	$(Q)$(MAKE) --no-print-directory test-conformance
	$(Q)$(MAKE) --no-print-directory test-manifests
	@echo "all test suites passed"

test-unit: $(UNIT_TESTS)
	$(Q)set -e; for t in $(UNIT_TESTS); do echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

# Its own self-test: pagination, chunking, 410s, bookmarks, auth (T22-T29).
test-fakeapi: $(SL_FAKEAPI)
	$(Q)GO111MODULE=off GOCACHE=$(abspath $(BUILD))/gocache go test ./tests/fakeapi/

test-fuzz: $(BUILD)/tests/fuzz_conf $(BUILD)/tests/fuzz_manifest \
	   $(BUILD)/tests/fuzz_watch $(BUILD)/tests/fuzz_object \
	   $(BUILD)/tests/fuzz_http $(BUILD)/tests/fuzz_events
	$(Q)mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-corpus-manifest \
		$(BUILD)/fuzz-corpus-watch $(BUILD)/fuzz-corpus-object \
		$(BUILD)/fuzz-corpus-http
	$(Q)$(BUILD)/tests/fuzz_conf -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
		-max_len=4096 -artifact_prefix=$(BUILD)/ $(BUILD)/fuzz-corpus \
		tests/fuzz/corpus >$(BUILD)/fuzz.log 2>&1 || \
		{ tail -40 $(BUILD)/fuzz.log; exit 1; }
	$(Q)grep -E 'number_of_executed_units|new_units_added' $(BUILD)/fuzz.log
	$(Q)$(BUILD)/tests/fuzz_manifest -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
		-max_len=4096 -artifact_prefix=$(BUILD)/manifest- \
		$(BUILD)/fuzz-corpus-manifest tests/fuzz/corpus_manifest \
		>$(BUILD)/fuzz-manifest.log 2>&1 || \
		{ tail -40 $(BUILD)/fuzz-manifest.log; exit 1; }
	$(Q)grep -E 'number_of_executed_units|new_units_added' $(BUILD)/fuzz-manifest.log
	$(Q)$(BUILD)/tests/fuzz_watch -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
		-max_len=4096 -artifact_prefix=$(BUILD)/watch- \
		$(BUILD)/fuzz-corpus-watch tests/fuzz/corpus_watch \
		>$(BUILD)/fuzz-watch.log 2>&1 || \
		{ tail -40 $(BUILD)/fuzz-watch.log; exit 1; }
	$(Q)grep -E 'number_of_executed_units|new_units_added' $(BUILD)/fuzz-watch.log
	$(Q)$(BUILD)/tests/fuzz_object -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
		-max_len=4096 -artifact_prefix=$(BUILD)/object- \
		$(BUILD)/fuzz-corpus-object tests/fuzz/corpus_object \
		>$(BUILD)/fuzz-object.log 2>&1 || \
		{ tail -40 $(BUILD)/fuzz-object.log; exit 1; }
	$(Q)grep -E 'number_of_executed_units|new_units_added' $(BUILD)/fuzz-object.log
	$(Q)$(BUILD)/tests/fuzz_http -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
		-max_len=4096 -artifact_prefix=$(BUILD)/http- \
		$(BUILD)/fuzz-corpus-http tests/fuzz/corpus_http \
		>$(BUILD)/fuzz-http.log 2>&1 || \
		{ tail -40 $(BUILD)/fuzz-http.log; exit 1; }
	$(Q)grep -E 'number_of_executed_units|new_units_added' $(BUILD)/fuzz-http.log
	$(Q)mkdir -p $(BUILD)/fuzz-corpus-events
	$(Q)$(BUILD)/tests/fuzz_events -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
		-max_len=257 -artifact_prefix=$(BUILD)/events- \
		$(BUILD)/fuzz-corpus-events tests/fuzz/corpus_events \
		>$(BUILD)/fuzz-events.log 2>&1 || \
		{ tail -40 $(BUILD)/fuzz-events.log; exit 1; }
	$(Q)grep -E 'number_of_executed_units|new_units_added' $(BUILD)/fuzz-events.log

test-e2e: all $(SL_CNIRUN) $(BUILD)/san/bin/sluice
	$(Q)tests/e2e/run.sh

# Twice: the release plugin, then the ASan/UBSan build (a leak, overflow or
# UB in any command fails the run).
test-conformance: all $(BUILD)/san/bin/sluice
	$(Q)tests/conformance/run.sh
	$(Q)SLUICE_CF_CNI_PATH=$(abspath $(BUILD))/san/bin:/usr/lib/cni tests/conformance/run.sh

# Offline: the manifests against the API's rules, the agent's code and
# the built binaries; the Dockerfile against Debian 12's packages.
test-manifests: all
	$(Q)tests/manifests/run.sh
