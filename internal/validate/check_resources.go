package validate

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const mem = "linux.resources.memory"

func (c *checker) checkResources(r *specs.LinuxResources) {
	if r == nil {
		return
	}
	c.checkMemory(r.Memory)
	c.checkCPU(r.CPU)
	if r.Pids != nil && r.Pids.Limit != nil && *r.Pids.Limit < -1 {
		c.errorf("linux.resources.pids.limit", rulePids, "use -1 (or leave it out) for no limit", "pids limit %d is negative", *r.Pids.Limit)
	}
	for i, d := range r.Devices {
		p := indexPath("linux.resources.devices", i)
		switch d.Type {
		case "", "a", "c", "b":
		default:
			c.errorf(p+".type", ruleDeviceAllow, `use "a" (all), "c" (char) or "b" (block)`, "unknown device type %q", d.Type)
		}
		if strings.Trim(d.Access, "rwm") != "" {
			c.errorf(p+".access", ruleDeviceAllow, `combine "r" (read), "w" (write) and "m" (mknod), e.g. "rwm"`, "access %q has letters other than r, w and m", d.Access)
		}
	}
	if b := r.BlockIO; b != nil {
		c.checkWeight("linux.resources.blockIO.weight", b.Weight)
		c.checkWeight("linux.resources.blockIO.leafWeight", b.LeafWeight)
		for i, wd := range b.WeightDevice {
			p := indexPath("linux.resources.blockIO.weightDevice", i)
			if wd.Weight == nil && wd.LeafWeight == nil {
				c.errorf(p, ruleBlockIO, `add "weight" (10..1000)`, "each weightDevice entry MUST specify weight or leafWeight")
			}
			c.checkWeight(p+".weight", wd.Weight)
			c.checkWeight(p+".leafWeight", wd.LeafWeight)
		}
	}
	for i, h := range r.HugepageLimits {
		if !pageSize().MatchString(h.Pagesize) {
			c.errorf(indexPath("linux.resources.hugepageLimits", i)+".pageSize", ruleHugepages, `write the size with a unit, e.g. "2MB" or "1GB"`, "%q is not a huge page size", h.Pagesize)
		}
	}
	for name, rd := range r.Rdma {
		if rd.HcaHandles == nil && rd.HcaObjects == nil {
			c.errorf(keyPath("linux.resources.rdma", name), ruleRDMA, `add "hcaHandles" or "hcaObjects"`, "each rdma entry MUST specify hcaHandles or hcaObjects")
		}
	}
	for key := range r.Unified {
		ctrl, file, ok := strings.Cut(key, ".")
		if !ok || ctrl == "" || file == "" || strings.Contains(key, "/") {
			c.errorf(keyPath("linux.resources.unified", key), ruleUnified, `name a cgroup v2 file such as "memory.max"`, "%q is not a cgroup v2 interface file name (CONTROLLER.FILE)", key)
		}
	}
}

// pageSize matches a huge page size such as "2MB".
var pageSize = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[1-9][0-9]*[KMGTP]B$`)
})

func (c *checker) checkWeight(p string, w *uint16) {
	if w != nil && *w != 0 && (*w < 10 || *w > 1000) {
		c.errorf(p, ruleBlockIO, "use 10..1000", "weight %d is out of range", *w)
	}
}

func (c *checker) checkMemory(m *specs.LinuxMemory) {
	if m == nil {
		return
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"limit", m.Limit}, {"reservation", m.Reservation}, {"swap", m.Swap}, {"kernel", m.Kernel}, {"kernelTCP", m.KernelTCP}} {
		if f.v != nil && *f.v < -1 {
			c.errorf(mem+"."+f.name, ruleMemory, "use a number of bytes, or -1 for unlimited", "%d is negative", *f.v)
		}
	}
	limited := func(v *int64) bool { return v != nil && *v > 0 }
	if limited(m.Limit) && limited(m.Reservation) && *m.Reservation > *m.Limit {
		c.errorf(mem+".reservation", ruleMemory, fmt.Sprintf("make reservation at most limit (%d)", *m.Limit), "the reservation (soft limit) %s is above the limit %s", bytesWord(*m.Reservation), bytesWord(*m.Limit))
	}
	if limited(m.Swap) {
		if !limited(m.Limit) {
			c.errorf(mem+".swap", ruleMemory, "set limit as well, or delete swap", "swap (memory+swap) is set without a memory limit")
		} else if *m.Swap < *m.Limit {
			c.errorf(mem+".swap", ruleMemory, fmt.Sprintf("swap counts memory plus swap, so it must be at least limit (%d); set it equal to limit for no swap", *m.Limit),
				"swap %s is below the memory limit %s", bytesWord(*m.Swap), bytesWord(*m.Limit))
		}
	}
	if limited(m.Limit) && *m.Limit < 6<<20 {
		c.warnf(mem+".limit", ruleMemory, "the runtime and the process need more than that; use at least a few MiB", "a memory limit of %s is too small to start a container", bytesWord(*m.Limit))
	}
	if m.Swappiness != nil && *m.Swappiness > 100 {
		c.errorf(mem+".swappiness", ruleMemory, "use 0..100", "swappiness %d is out of range", *m.Swappiness)
	}
	if m.Kernel != nil || m.KernelTCP != nil {
		c.warnf(mem+".kernel", ruleMemory, "delete kernel and kernelTCP", "kernel memory limits are NOT RECOMMENDED and ignored by current kernels")
	}
}

func bytesWord(v int64) string {
	switch {
	case v >= 1<<30 && v%(1<<30) == 0:
		return fmt.Sprintf("%d (%d GiB)", v, v>>30)
	case v >= 1<<20 && v%(1<<20) == 0:
		return fmt.Sprintf("%d (%d MiB)", v, v>>20)
	case v >= 1<<10 && v%(1<<10) == 0:
		return fmt.Sprintf("%d (%d KiB)", v, v>>10)
	}
	return fmt.Sprint(v)
}

const cpu = "linux.resources.cpu"

func (c *checker) checkCPU(cp *specs.LinuxCPU) {
	if cp == nil {
		return
	}
	if cp.Shares != nil && *cp.Shares != 0 && (*cp.Shares < 2 || *cp.Shares > 262144) {
		c.warnf(cpu+".shares", ruleCPU, "use 2..262144 (1024 is the default weight)", "shares %d is outside 2..262144; the kernel clamps it", *cp.Shares)
	}
	if cp.Quota != nil {
		q := *cp.Quota
		switch {
		case q < -1:
			c.errorf(cpu+".quota", ruleCPU, "use -1 (or leave it out) for no quota", "quota %d is negative", q)
		case q > 0 && q < 1000:
			c.errorf(cpu+".quota", ruleCPU, "quota is in microseconds per period: 50000 with a period of 100000 is half a CPU", "quota %dµs is below the kernel's minimum of 1000µs", q)
		}
		if cp.Burst != nil && q > 0 && int64(*cp.Burst) > q {
			c.errorf(cpu+".burst", ruleCPU, fmt.Sprintf("make burst at most quota (%d)", q), "burst %d is larger than quota %d", *cp.Burst, q)
		}
	}
	if cp.Period != nil && *cp.Period != 0 && (*cp.Period < 1000 || *cp.Period > 1000000) {
		c.errorf(cpu+".period", ruleCPU, "use 1000..1000000 microseconds (100000 is the default)", "period %dµs is outside 1ms..1s", *cp.Period)
	}
	if cp.Idle != nil && *cp.Idle != 0 && *cp.Idle != 1 {
		c.errorf(cpu+".idle", ruleCPU, "use 0 or 1", "idle %d is neither 0 nor 1", *cp.Idle)
	}
	c.checkCPUList(cpu+".cpus", cp.Cpus, ruleCPU)
	c.checkCPUList(cpu+".mems", cp.Mems, ruleCPU)
}
