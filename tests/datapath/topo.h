/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * topo: the node the datapath tests pretend to be. The runner moves into a
 * network namespace of its own (the "node"); each pretend pod gets a
 * namespace too, joined to the node by a veth pair as the CNI plugin would
 * wire it. Nothing here touches the namespace the runner was started in.
 */
#ifndef SL_TEST_TOPO_H
#define SL_TEST_TOPO_H

#include <linux/if_ether.h>
#include <linux/types.h>
#include <linux/virtio_net.h>
#include <stdbool.h>

#include "pktgen.h"

/*
 * Large enough for the jumbo frames the live cases send, so that a packet
 * socket builds them non-linear (see topo_socket()).
 */
#define TOPO_MTU 9000

/**
 * struct test_ep - a pod on this node as sl_endpoints knows it
 * @host_dev: node side of its veth, where sl_from_pod and sl_to_pod run
 * @pod_dev: pod side, in the pod's namespace
 * @ip: its address, host byte order
 * @pod_mac: MAC of @pod_dev
 * @host_mac: MAC of @host_dev, the pod's gateway
 * @ifindex: of @host_dev in the node namespace (set by topo_create())
 * @pod_ifindex: of @pod_dev in the pod's namespace (set by topo_create())
 * @pod_ns: the pod's namespace, an open nsfs file (set by topo_create())
 */
struct test_ep {
	const char *host_dev;
	const char *pod_dev;
	__u32 ip;
	__u8 pod_mac[ETH_ALEN];
	__u8 host_mac[ETH_ALEN];
	__u32 ifindex;
	__u32 pod_ifindex;
	int pod_ns;
};

/*
 * Move into a new network namespace, the node's, and check the move took:
 * from here on every interface the runner sees is its own.
 */
int topo_enter_netns(void);

/* Create a namespace and a veth pair, both ends up, for each endpoint. */
int topo_create(struct test_ep *eps, int n);

/* Close the pods' namespaces; they vanish with the runner's. */
void topo_destroy(struct test_ep *eps, int n);

/**
 * topo_socket - a non-blocking packet socket on one end of a pod's veth
 * @ep: the pod
 * @pod_side: true for @ep->pod_dev (in the pod's namespace), false for
 *            @ep->host_dev
 *
 * What it sends leaves by that device as the frame given, Ethernet header
 * included; what it receives is every frame arriving there. Returns the
 * socket or a negative errno.
 */
int topo_socket(const struct test_ep *ep, bool pod_side);

/* Send one frame; 0 or a negative errno. */
int topo_send(int fd, const struct pkt *p);

/*
 * Receive the next frame that arrived on the socket's device (not one sent
 * from it) within timeout_ms: 0, -ETIMEDOUT, or a negative errno.
 */
int topo_recv(int fd, struct pkt *p, int timeout_ms);

/*
 * A topo_socket() whose frames go with a virtio_net_hdr (PACKET_VNET_HDR):
 * sent, it can ask for checksum offload, the frame leaving CHECKSUM_PARTIAL
 * as from a pod's own stack; received, it says whether the checksum is
 * still the device's to complete, and where.
 */
int topo_socket_vnet(const struct test_ep *ep, bool pod_side);
int topo_send_vnet(int fd, const struct pkt *p,
		   const struct virtio_net_hdr *h);
int topo_recv_vnet(int fd, struct pkt *p, struct virtio_net_hdr *h,
		   int timeout_ms);

#endif /* SL_TEST_TOPO_H */
