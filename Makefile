# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make            build/bin/sluice and the datapath object (build/sluice.bpf.o)
# make test       every test (installs its Debian dependencies when missing)
# make demo       the local cluster demo (DEMO_NODES=2, DEMO_ROUTING=native|vxlan)
# make bench      the benchmarks (long; not part of test)
# V=1             show the commands
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH_INC  := /usr/include/$(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
CPPFLAGS  := -Iinclude -Icommon -I$(BUILD) -D_GNU_SOURCE
NL_CFLAGS := $(shell pkg-config --cflags libnl-3.0 libnl-route-3.0 json-c yaml-0.1 libcurl libnftables 2>/dev/null)
LDLIBS    := $(shell pkg-config --libs libnl-3.0 libnl-route-3.0 json-c yaml-0.1 libcurl libnftables 2>/dev/null) -lbpf -lelf -lz
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 $(CPPFLAGS) $(NL_CFLAGS) -MMD -MP
BPF_CFLAGS := -O2 -g -target bpf $(WARN) -Iinclude -I$(ARCH_INC)

# Sanitizer build of the same sources (tests run it under ASan/UBSan).
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	     -fno-sanitize-recover=all

COMMON_SRCS := $(wildcard common/*.c)
CNI_SRCS    := $(filter-out cni/main.c,$(wildcard cni/*.c))
AGENT_SRCS  := $(filter-out agent/main.c agent/sluicectl.c agent/ctl%.c,$(wildcard agent/*.c))
CTL_SRCS    := agent/sluicectl.c $(wildcard agent/ctl*.c) agent/conntrack.c
LIB_SRCS    := $(COMMON_SRCS) $(CNI_SRCS) $(AGENT_SRCS)

BPF_OBJ  := $(BUILD)/sluice.bpf.o
BPF_SKEL := $(BUILD)/sluice.skel.h

obj     = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
san_obj = $(patsubst %.c,$(BUILD)/san/%.o,$(1))

PROGS := $(BUILD)/bin/sluice $(BUILD)/bin/sluicectl \
	 $(if $(wildcard agent/main.c),$(BUILD)/bin/sluiced)

.PHONY: all
all: $(PROGS) $(BPF_OBJ)

# --- datapath: %.bpf.c -> %.bpf.o -> %.skel.h --------------------------------
$(BPF_OBJ): datapath/sluice.bpf.c $(wildcard datapath/lib/*.h) \
	    $(wildcard include/sluice/*.h) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_SKEL): $(BPF_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name sluice_bpf > $@

# --- user space ----------------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(BPF_SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(BPF_SKEL)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(SAN_FLAGS) $(WARN) -std=gnu11 $(CPPFLAGS) $(NL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/bin/sluice: $(call obj,cni/main.c $(LIB_SRCS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/sluiced: $(call obj,agent/main.c $(AGENT_SRCS) $(COMMON_SRCS) $(CNI_SRCS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/sluicectl: $(call obj,$(CTL_SRCS) $(COMMON_SRCS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# The plugin built with sanitizers, for the end-to-end and fuzz runs.
$(BUILD)/san/bin/sluice: $(call san_obj,cni/main.c $(LIB_SRCS))
	$(call msg,LD-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)

$(BUILD):
	$(Q)mkdir -p $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
include tests/tests.mk

.PHONY: demo bench deps clean
deps:
	$(Q)hack/deps.sh

# Sub-makes: the flags from pkg-config are only right once deps exist.
demo:
	$(Q)hack/deps.sh demo
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bin/sl-cnirun
	$(Q)hack/demo.sh

bench:
	$(Q)hack/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bin/sl-cnirun
	$(Q)hack/bench/run.sh

clean:
	rm -rf $(BUILD)
