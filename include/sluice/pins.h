/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Where the datapath lives under bpfRoot, shared by the plugin and agent. */
#ifndef SLUICE_PINS_H
#define SLUICE_PINS_H

/* Programs and maps are pinned flat under bpfRoot by their object names. */
#define SL_PROG_FROM_POD "sl_from_pod"
#define SL_PROG_TO_POD "sl_to_pod"

#define SL_DEFAULT_BPF_ROOT "/sys/fs/bpf/sluice"
#define SL_DEFAULT_RUN_DIR "/var/run/sluice"

/* tc filter priority and handle our programs use on each pod veth. */
#define SL_TC_PRIORITY 1
#define SL_TC_HANDLE 1

#endif /* SLUICE_PINS_H */
