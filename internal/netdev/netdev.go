package netdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Move moves every device of devs (host name -> device) into the network
// namespace at nsPath. It stops at the first failure, naming the device;
// what moved already goes when the namespace does.
func Move(devs map[string]specs.LinuxNetDevice, nsPath string) error {
	if len(devs) == 0 {
		return nil
	}
	ns, err := os.Open(nsPath)
	if err != nil {
		return fmt.Errorf("linux.netDevices: the container's network namespace: %w", err)
	}
	defer ns.Close()
	host, err := dial()
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer host.close()
	inside, err := dialIn(int(ns.Fd()))
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer inside.close()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range devs {
			if !yield(k) {
				return
			}
		}
	}) {
		to := devs[name].Name
		if to == "" {
			to = name
		}
		if err := move(host, inside, int(ns.Fd()), name, to); err != nil {
			return fmt.Errorf("linux.netDevices[%q]: %w", name, err)
		}
	}
	return nil
}

func move(host, inside *conn, nsFD int, name, to string) error {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return fmt.Errorf("no network device %q on the host — hint: `ip link` lists them", name)
	}
	// The kernel moves the device before it renames it: a name taken in
	// the container would fail after the move, with the device gone
	// into a namespace that is about to be freed.
	if !strings.Contains(to, "%") {
		taken, err := inside.has(to)
		if err != nil {
			return fmt.Errorf("looking for %q in the container: %w", to, err)
		}
		if taken {
			return fmt.Errorf("the container already has a device %q — hint: give another name, or a template such as \"eth%%d\" for the kernel to number", to)
		}
	}
	addrs, err := host.permanentAddrs(ifi.Index)
	if err != nil {
		return fmt.Errorf("reading its addresses: %w", err)
	}
	msg := linkMsg(unix.RTM_NEWLINK, ifi.Index, 0, 0)
	msg = attr(msg, unix.IFLA_NET_NS_FD, binary.NativeEndian.AppendUint32(nil, uint32(nsFD)))
	msg = attr(msg, unix.IFLA_IFNAME, append([]byte(to), 0))
	if err := host.do(msg); err != nil {
		switch {
		case errors.Is(err, unix.EEXIST):
			return fmt.Errorf("the container already has a device %q — hint: give another name, or a template such as \"eth%%d\" for the kernel to number", to)
		case errors.Is(err, unix.EINVAL) && strings.Contains(to, "%"):
			return fmt.Errorf("moving it as %q: %w — hint: a template holds one %%d", to, err)
		case errors.Is(err, unix.EINVAL):
			return fmt.Errorf("moving it as %q: %w (a device bound to its namespace, such as lo or a bridge port, cannot move)", to, err)
		}
		return fmt.Errorf("moving it as %q: %w", to, err)
	}
	// The kernel keeps the index where the namespace has it free (a new
	// one has only lo); the hardware address tells a moved device.
	idx, err := inside.find(ifi.Index, ifi.HardwareAddr)
	if err != nil {
		return fmt.Errorf("finding it in the container after the move: %w", err)
	}
	for _, a := range addrs {
		a.index = idx
		if err := inside.do(a.msg()); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("restoring address %s/%d in the container: %w", net.IP(a.local), a.prefix, err)
		}
	}
	if err := inside.do(linkMsg(unix.RTM_NEWLINK, idx, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return fmt.Errorf("setting it up in the container: %w", err)
	}
	return nil
}

// conn is an rtnetlink socket, bound to the network namespace it was made
// in.
type conn struct {
	fd  int
	seq uint32
}

func dial() (*conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("rtnetlink bind: %w", err)
	}
	// Errors come with the request's header only.
	unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	return &conn{fd: fd}, nil
}

// dialIn makes the socket in the network namespace nsFD: from a thread
// that enters it and comes back (a thread that cannot come back is never
// unlocked, so the Go runtime ends it).
func dialIn(nsFD int) (*conn, error) {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer self.Close()
	if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("entering the container's network namespace: %w", err)
	}
	c, derr := dial()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		if c != nil {
			c.close()
		}
		return nil, fmt.Errorf("returning to the host's network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return c, derr
}

func (c *conn) close() { unix.Close(c.fd) }

// do sends one request and waits for its acknowledgement.
func (c *conn) do(msg []byte) error {
	_, err := c.exchange(msg, unix.NLM_F_ACK, nil)
	return err
}

// exchange sends msg (its header filled in here, with flags) and reads
// the replies until the acknowledgement or the end of a dump, passing each
// data message to each.
func (c *conn) exchange(msg []byte, flags uint16, each func(typ uint16, body []byte)) (int, error) {
	c.seq++
	h := (*unix.NlMsghdr)(ptr(msg))
	h.Len = uint32(len(msg))
	h.Flags = unix.NLM_F_REQUEST | flags
	h.Seq = c.seq
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<16)
	n := 0
	for {
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			return n, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:m])
		if err != nil {
			return n, err
		}
		for _, r := range msgs {
			if r.Header.Seq != c.seq {
				continue
			}
			switch r.Header.Type {
			case unix.NLMSG_DONE:
				return n, nil
			case unix.NLMSG_ERROR:
				if len(r.Data) < 4 {
					return n, errors.New("short netlink error")
				}
				if e := int32(binary.NativeEndian.Uint32(r.Data)); e != 0 {
					return n, syscall.Errno(-e)
				}
				return n, nil
			default:
				n++
				if each != nil {
					each(r.Header.Type, r.Data)
				}
			}
		}
	}
}

// has reports whether the namespace has a device called name.
func (c *conn) has(name string) (bool, error) {
	n, err := c.exchange(attr(linkMsg(unix.RTM_GETLINK, 0, 0, 0), unix.IFLA_IFNAME, append([]byte(name), 0)), unix.NLM_F_ACK, nil)
	if errors.Is(err, unix.ENODEV) {
		return false, nil
	}
	return n > 0, err
}

// find returns the index of the device that had index idx and hardware
// address hw before it moved: the same index with the same address, else
// the one with the address, else the same index.
func (c *conn) find(idx int, hw net.HardwareAddr) (int, error) {
	exact, byHW, byIdx := -1, -1, -1
	_, err := c.exchange(linkMsg(unix.RTM_GETLINK, 0, 0, 0), unix.NLM_F_DUMP, func(typ uint16, body []byte) {
		if typ != unix.RTM_NEWLINK || len(body) < unix.SizeofIfInfomsg {
			return
		}
		i := int((*unix.IfInfomsg)(ptr(body)).Index)
		sameHW := false
		for _, a := range attrs(body[unix.SizeofIfInfomsg:]) {
			if a.typ == unix.IFLA_ADDRESS && len(hw) > 0 && string(a.val) == string(hw) {
				sameHW = true
			}
		}
		switch {
		case i == idx && sameHW:
			exact = i
		case sameHW:
			byHW = i
		case i == idx:
			byIdx = i
		}
	})
	if err != nil {
		return -1, err
	}
	for _, i := range []int{exact, byHW, byIdx} {
		if i >= 0 {
			return i, nil
		}
	}
	return -1, errors.New("not there")
}

// address is one address of a device, as RTM_NEWADDR takes it back.
type address struct {
	family, prefix uint8
	index          int
	local, peer    []byte
	broadcast      []byte
}

func (a *address) msg() []byte {
	m := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfAddrmsg)
	(*unix.NlMsghdr)(ptr(m)).Type = unix.RTM_NEWADDR
	ifa := (*unix.IfAddrmsg)(ptr(m[unix.SizeofNlMsghdr:]))
	ifa.Family, ifa.Prefixlen, ifa.Scope, ifa.Index = a.family, a.prefix, unix.RT_SCOPE_UNIVERSE, uint32(a.index)
	m = attr(m, unix.IFA_LOCAL, a.local)
	m = attr(m, unix.IFA_ADDRESS, a.peer)
	if a.broadcast != nil {
		m = attr(m, unix.IFA_BROADCAST, a.broadcast)
	}
	return m
}

// permanentAddrs lists the device's permanent addresses of global scope
// (IFA_F_PERMANENT, RT_SCOPE_UNIVERSE), of every family.
func (c *conn) permanentAddrs(idx int) ([]address, error) {
	m := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfAddrmsg)
	(*unix.NlMsghdr)(ptr(m)).Type = unix.RTM_GETADDR
	var out []address
	_, err := c.exchange(m, unix.NLM_F_DUMP, func(typ uint16, body []byte) {
		if typ != unix.RTM_NEWADDR || len(body) < unix.SizeofIfAddrmsg {
			return
		}
		ifa := (*unix.IfAddrmsg)(ptr(body))
		if int(ifa.Index) != idx || ifa.Scope != unix.RT_SCOPE_UNIVERSE {
			return
		}
		a := address{family: ifa.Family, prefix: ifa.Prefixlen}
		flags := uint32(ifa.Flags)
		for _, at := range attrs(body[unix.SizeofIfAddrmsg:]) {
			switch at.typ {
			case unix.IFA_LOCAL:
				a.local = at.val
			case unix.IFA_ADDRESS:
				a.peer = at.val
			case unix.IFA_BROADCAST:
				a.broadcast = at.val
			case unix.IFA_FLAGS:
				if len(at.val) >= 4 {
					flags = binary.NativeEndian.Uint32(at.val)
				}
			}
		}
		if flags&unix.IFA_F_PERMANENT == 0 {
			return
		}
		if a.local == nil {
			a.local = a.peer // IPv6 has IFA_ADDRESS only
		}
		out = append(out, a)
	})
	return out, err
}

// linkMsg is an ifinfomsg request for device idx (0: all).
func linkMsg(typ uint16, idx int, flags, change uint32) []byte {
	m := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfInfomsg)
	(*unix.NlMsghdr)(ptr(m)).Type = typ
	ifi := (*unix.IfInfomsg)(ptr(m[unix.SizeofNlMsghdr:]))
	ifi.Family, ifi.Index, ifi.Flags, ifi.Change = unix.AF_UNSPEC, int32(idx), flags, change
	return m
}

type rtattr struct {
	typ uint16
	val []byte
}

// attr appends a netlink attribute, padded to 4 bytes.
func attr(m []byte, typ uint16, val []byte) []byte {
	m = binary.NativeEndian.AppendUint16(m, uint16(unix.SizeofRtAttr+len(val)))
	m = binary.NativeEndian.AppendUint16(m, typ)
	m = append(m, val...)
	for len(m)%4 != 0 {
		m = append(m, 0)
	}
	return m
}

// attrs splits netlink attributes.
func attrs(b []byte) []rtattr {
	var out []rtattr
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b))
		if l < unix.SizeofRtAttr || l > len(b) {
			break
		}
		out = append(out, rtattr{typ: binary.NativeEndian.Uint16(b[2:]) &^ unix.NLA_F_NESTED, val: b[unix.SizeofRtAttr:l]})
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return out
}

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
