/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * skb->mark bits the datapath sets for the node's own netfilter rules
 * (agent/nat.h): one byte of the mark, so the bits other software uses
 * (kube-proxy's 0x4000 and 0x8000 among them, which sluice replaces, and
 * Calico's high bits) are left alone.
 */
#ifndef SLUICE_MARK_H
#define SLUICE_MARK_H

#define SL_MARK_MASK 0x0000ff00u
/*
 * A connection from outside the cluster to a NodePort, external IP or
 * load-balancer IP whose backend is on another node: the node takes it
 * over with its own address (SNAT), so the backend's replies come back
 * through it, to be translated back to the Service's address.
 */
#define SL_MARK_SNAT_TO_NODE 0x00005c00u

#endif /* SLUICE_MARK_H */
