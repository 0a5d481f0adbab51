// Package netdev moves host network devices into a container's network
// namespace (linux.netDevices), with rtnetlink: the device is moved and
// renamed in one RTM_NEWLINK (IFLA_NET_NS_FD, IFLA_IFNAME), its permanent
// global addresses, which the kernel flushes on the move, are added again
// inside, and it is set up. Nothing moves it back: as the spec asks, the
// kernel returns a physical device to the initial namespace when the
// container's namespace is freed, and destroys a virtual one.
package netdev
