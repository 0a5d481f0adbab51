package e2e

import (
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// linux.netDevices: one end of a veth pair of the host's (this kernel has
// no dummy devices), with a permanent IPv4 and IPv6 address, moves into
// the container renamed, keeps its addresses and is up; the host no
// longer has it; a name the container has already is refused by name;
// and the device goes with the container's namespace (a virtual device is
// destroyed then, as the spec says, and its peer with it).
func TestNetDevices(t *testing.T) { forRunners(t, testNetDevices) }

func testNetDevices(t *testing.T, e *env) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) to make a veth pair")
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	dev, peer := "hakov"+e.runner+"0", "hakov"+e.runner+"1"
	ip("link", "add", dev, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { exec.Command("ip", "link", "del", dev).Run(); exec.Command("ip", "link", "del", peer).Run() })
	ip("addr", "add", "192.0.2.10/24", "dev", dev)
	ip("-6", "addr", "add", "2001:db8::10/64", "dev", dev, "nodad")

	b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {Name: "ctr0"}}
	})
	e.must("run", "-d", "--bundle", b, "netdev")
	pid := e.state("netdev").Pid
	out := e.must("exec", "netdev", "sh", "-c", "ip addr show ctr0; cat /sys/class/net/ctr0/flags")
	for _, want := range []string{"inet 192.0.2.10/24", "inet6 2001:db8::10/64"} {
		if !strings.Contains(out, want) {
			t.Errorf("the moved device lacks %q:\n%s", want, out)
		}
	}
	l := lines(out)
	if flags := l[len(l)-1]; !strings.HasSuffix(flags, "1") && !strings.HasSuffix(flags, "3") && !strings.HasSuffix(flags, "9") && !strings.HasSuffix(flags, "b") {
		t.Errorf("ctr0 is not up (flags %s)", flags)
	}
	if exec.Command("ip", "link", "show", dev).Run() == nil {
		t.Errorf("the host still has %s", dev)
	}
	// The kernel frees a namespace asynchronously: wait for the peer's
	// RTM_DELLINK.
	peerIf, err := net.InterfaceByName(peer)
	if err != nil {
		t.Fatal(err)
	}
	gone := linkGone(t, peerIf.Index)
	e.deleteAndReap("netdev", pid)
	if err := gone(); err != nil {
		t.Errorf("the veth pair outlived the container's namespace (a virtual device goes with it): %v", err)
	}

	// A name the container has already.
	ip("link", "add", dev, "type", "veth", "peer", "name", peer)
	r := e.sh("netdev-lo", "true", func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{dev: {Name: "lo"}}
	})
	if r.code == 0 || !strings.Contains(r.stderr, "linux.netDevices") || !strings.Contains(r.stderr, `"lo"`) {
		t.Errorf("moving a device as lo was not refused by name: %s", r)
	}
	if exec.Command("ip", "link", "show", dev).Run() != nil {
		t.Errorf("a refused move lost the host's device %s", dev)
	}
	r = e.sh("netdev-none", "true", func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hakonope0": {}}
	})
	if r.code == 0 || !strings.Contains(r.stderr, `linux.netDevices["hakonope0"]`) {
		t.Errorf("a missing host device was not refused by name: %s", r)
	}
}

// linkGone listens for the host's link events; the function it returns
// waits (30 s at most) until device idx is deleted.
func linkGone(t *testing.T, idx int) func() error {
	t.Helper()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 30})
	return func() error {
		if _, err := net.InterfaceByIndex(idx); err != nil {
			return nil // gone already
		}
		buf := make([]byte, 1<<16)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return err
			}
			msgs, err := syscall.ParseNetlinkMessage(buf[:n])
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if m.Header.Type == unix.RTM_DELLINK && len(m.Data) >= unix.SizeofIfInfomsg &&
					int(int32(m.Data[4])|int32(m.Data[5])<<8|int32(m.Data[6])<<16|int32(m.Data[7])<<24) == idx {
					return nil
				}
			}
			if _, err := net.InterfaceByIndex(idx); err != nil {
				return nil
			}
		}
	}
}
