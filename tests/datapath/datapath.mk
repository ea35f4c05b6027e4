# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The datapath test runner: every branch of the tc programs through
# BPF_PROG_TEST_RUN, and the few test_run cannot reach through a veth, in
# network namespaces of its own. runner.c holds the node, the checks and
# main(); the suites are datapath_test.c (forwarding, drops, events),
# lb_test.c (Services and conntrack, with svc.c), icmp_test.c (ICMP
# errors about Service connections, with svc.c), policy_test.c
# (NetworkPolicy verdicts), flow_test.c (flow events), overlay_test.c
# (the VXLAN overlay, live through a VXLAN device too, and the SNAT mark
# of sl_from_netdev) and host_route_test.c (routing between nodes past
# the host stack: bpf_fib_lookup() on real routes and neighbours), run in
# that order;
# pktgen.c builds the frames, topo.c the namespaces and veths. Included
# from tests/tests.mk; needs root. V=1 also shows libbpf's debug output.
#
#   make test-datapath              every case
#   make test-datapath TEST=name    one case (datapath_test -l lists them)

DATAPATH_TEST      := $(BUILD)/tests/datapath_test
DATAPATH_TEST_SRCS := $(wildcard tests/datapath/*.c)

# Objects come from the top Makefile's $(BUILD)/obj/%.o rule: $(ALL_CFLAGS),
# dependency files, and an order after $(BPF_SKEL), which the runner includes.
$(DATAPATH_TEST): $(call obj,$(DATAPATH_TEST_SRCS) common/reasons.c common/bpfmap.c) $(BPF_SKEL)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(filter %.o,$^) -o $@ $(LDLIBS)

.PHONY: test-datapath
test-datapath: $(DATAPATH_TEST)
	$(Q)TEST='$(TEST)' $(DATAPATH_TEST)
