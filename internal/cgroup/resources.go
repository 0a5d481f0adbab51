package cgroup

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// convertResources checks linux.resources and converts it to the library's
// form. Zero values mean "leave as is", as in the library. Devices are left
// to deviceRules. mode is the host's Mode.
func convertResources(r *specs.LinuxResources, mode string) (*cgroups.Resources, error) {
	res := &cgroups.Resources{}
	if r == nil {
		return res, nil
	}
	steps := []func(*specs.LinuxResources, *cgroups.Resources) error{
		convertMemory, convertCPU, convertPids, convertBlockIO, convertHugepages, convertNetwork, convertRdma,
	}
	for _, step := range steps {
		if err := step(r, res); err != nil {
			return nil, err
		}
	}
	if err := convertUnified(r.Unified, mode, res); err != nil {
		return nil, err
	}
	return res, nil
}

func convertMemory(r *specs.LinuxResources, res *cgroups.Resources) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	const f = "linux.resources.memory"
	for _, v := range []struct {
		name string
		val  *int64
		dst  *int64
	}{
		{"limit", m.Limit, &res.Memory},
		{"reservation", m.Reservation, &res.MemoryReservation},
		{"swap", m.Swap, &res.MemorySwap},
	} {
		if v.val == nil {
			continue
		}
		if *v.val < -1 {
			return fmt.Errorf("%s.%s: %d bytes is negative: use -1 for no limit", f, v.name, *v.val)
		}
		*v.dst = *v.val
	}
	if res.Memory > 0 && res.MemorySwap > 0 && res.MemorySwap < res.Memory {
		return fmt.Errorf("%s.swap: %d is below memory.limit %d: swap is the limit of memory plus swap, so it must be at least memory.limit (or -1 for unlimited swap)", f, res.MemorySwap, res.Memory)
	}
	if res.Memory > 0 && res.MemoryReservation > res.Memory {
		return fmt.Errorf("%s.reservation: %d is above memory.limit %d: a soft limit must not exceed the hard limit", f, res.MemoryReservation, res.Memory)
	}
	if m.Kernel != nil {
		slog.Warn("linux.resources.memory.kernel is ignored: kernel memory limits are deprecated and no longer supported by the kernel")
	}
	if m.KernelTCP != nil {
		slog.Warn("linux.resources.memory.kernelTCP is ignored: kernel TCP memory limits are not supported by hako")
	}
	if m.Swappiness != nil {
		if *m.Swappiness > 100 {
			return fmt.Errorf("%s.swappiness: %d is out of range: use 0 to 100", f, *m.Swappiness)
		}
		v := *m.Swappiness
		res.MemorySwappiness = &v
	}
	if m.DisableOOMKiller != nil {
		res.OomKillDisable = *m.DisableOOMKiller
	}
	if m.CheckBeforeUpdate != nil {
		res.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
	}
	return nil
}

func convertCPU(r *specs.LinuxResources, res *cgroups.Resources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	const f = "linux.resources.cpu"
	if c.Shares != nil {
		if s := *c.Shares; s != 0 && (s < 2 || s > 262144) {
			return fmt.Errorf("%s.shares: %d is out of range: use 2 to 262144 (1024 is the default weight)", f, s)
		}
		res.CpuShares = *c.Shares
	}
	if c.Quota != nil {
		if q := *c.Quota; q < -1 || (q > 0 && q < 1000) {
			return fmt.Errorf("%s.quota: %d microseconds is out of range: use at least 1000, or -1 for no limit", f, q)
		}
		res.CpuQuota = *c.Quota
	}
	if c.Period != nil {
		if p := *c.Period; p != 0 && (p < 1000 || p > 1000000) {
			return fmt.Errorf("%s.period: %d microseconds is out of range: use 1000 (1ms) to 1000000 (1s)", f, p)
		}
		res.CpuPeriod = *c.Period
	}
	if c.Burst != nil {
		v := *c.Burst
		res.CpuBurst = &v
	}
	if c.RealtimeRuntime != nil {
		if *c.RealtimeRuntime < -1 {
			return fmt.Errorf("%s.realtimeRuntime: %d is negative: use -1 for no limit", f, *c.RealtimeRuntime)
		}
		res.CpuRtRuntime = *c.RealtimeRuntime
	}
	if c.RealtimePeriod != nil {
		res.CpuRtPeriod = *c.RealtimePeriod
	}
	if err := checkCPUList(c.Cpus); err != nil {
		return fmt.Errorf("%s.cpus: %w", f, err)
	}
	if err := checkCPUList(c.Mems); err != nil {
		return fmt.Errorf("%s.mems: %w", f, err)
	}
	res.CpusetCpus, res.CpusetMems = c.Cpus, c.Mems
	if c.Idle != nil {
		if i := *c.Idle; i != 0 && i != 1 {
			return fmt.Errorf("%s.idle: %d is not 0 or 1", f, i)
		}
		v := *c.Idle
		res.CPUIdle = &v
	}
	return nil
}

// checkCPUList checks the kernel's list syntax, e.g. "0-3,7".
func checkCPUList(s string) error {
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("%q is not a list such as \"0-3,7\" (bad part %q)", s, part)
		}
	}
	return nil
}

func convertPids(r *specs.LinuxResources, res *cgroups.Resources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	// The library writes "max" for a negative limit.
	v := *r.Pids.Limit
	res.PidsLimit = &v
	return nil
}

func checkWeight(field string, w *uint16) (uint16, error) {
	if w == nil || *w == 0 {
		return 0, nil
	}
	if *w < 10 || *w > 1000 {
		return 0, fmt.Errorf("%s: %d is out of range: use 10 to 1000", field, *w)
	}
	return *w, nil
}

func convertBlockIO(r *specs.LinuxResources, res *cgroups.Resources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	const f = "linux.resources.blockIO"
	var err error
	if res.BlkioWeight, err = checkWeight(f+".weight", b.Weight); err != nil {
		return err
	}
	if res.BlkioLeafWeight, err = checkWeight(f+".leafWeight", b.LeafWeight); err != nil {
		return err
	}
	for i, d := range b.WeightDevice {
		field := fmt.Sprintf("%s.weightDevice[%d]", f, i)
		if err := checkDevice(field, d.Major, d.Minor); err != nil {
			return err
		}
		if d.Weight == nil && d.LeafWeight == nil {
			return fmt.Errorf("%s: neither weight nor leafWeight is set", field)
		}
		w, err := checkWeight(field+".weight", d.Weight)
		if err != nil {
			return err
		}
		lw, err := checkWeight(field+".leafWeight", d.LeafWeight)
		if err != nil {
			return err
		}
		res.BlkioWeightDevice = append(res.BlkioWeightDevice, cgroups.NewWeightDevice(d.Major, d.Minor, w, lw))
	}
	for _, t := range []struct {
		name string
		src  []specs.LinuxThrottleDevice
		dst  *[]*cgroups.ThrottleDevice
	}{
		{"throttleReadBpsDevice", b.ThrottleReadBpsDevice, &res.BlkioThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", b.ThrottleWriteBpsDevice, &res.BlkioThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", b.ThrottleReadIOPSDevice, &res.BlkioThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice, &res.BlkioThrottleWriteIOPSDevice},
	} {
		for i, d := range t.src {
			if err := checkDevice(fmt.Sprintf("%s.%s[%d]", f, t.name, i), d.Major, d.Minor); err != nil {
				return err
			}
			*t.dst = append(*t.dst, cgroups.NewThrottleDevice(d.Major, d.Minor, d.Rate))
		}
	}
	return nil
}

func checkDevice(field string, major, minor int64) error {
	if major < 0 {
		return fmt.Errorf("%s.major: %d is negative", field, major)
	}
	if minor < 0 {
		return fmt.Errorf("%s.minor: %d is negative", field, minor)
	}
	return nil
}

func convertHugepages(r *specs.LinuxResources, res *cgroups.Resources) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	sizes := cgroups.HugePageSizes()
	for i, h := range r.HugepageLimits {
		if !slices.Contains(sizes, h.Pagesize) {
			supported := "this host has no huge pages"
			if len(sizes) > 0 {
				supported = "this host supports " + strings.Join(sizes, ", ")
			}
			return fmt.Errorf("linux.resources.hugepageLimits[%d].pageSize: %q is not a huge page size of this host: %s", i, h.Pagesize, supported)
		}
		res.HugetlbLimit = append(res.HugetlbLimit, &cgroups.HugepageLimit{Pagesize: h.Pagesize, Limit: h.Limit})
	}
	return nil
}

func convertNetwork(r *specs.LinuxResources, res *cgroups.Resources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		res.NetClsClassid = *n.ClassID
	}
	for i, p := range n.Priorities {
		if p.Name == "" || strings.ContainsAny(p.Name, " /\n") {
			return fmt.Errorf("linux.resources.network.priorities[%d].name: %q is not a network interface name", i, p.Name)
		}
		res.NetPrioIfpriomap = append(res.NetPrioIfpriomap, &cgroups.IfPrioMap{Interface: p.Name, Priority: int64(p.Priority)})
	}
	return nil
}

func convertRdma(r *specs.LinuxResources, res *cgroups.Resources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	res.Rdma = make(map[string]cgroups.LinuxRdma, len(r.Rdma))
	for dev, l := range r.Rdma {
		if dev == "" || strings.ContainsAny(dev, " \n") {
			return fmt.Errorf("linux.resources.rdma[%q]: not an RDMA device name", dev)
		}
		res.Rdma[dev] = cgroups.LinuxRdma{HcaHandles: l.HcaHandles, HcaObjects: l.HcaObjects}
	}
	return nil
}

func convertUnified(u map[string]string, mode string, res *cgroups.Resources) error {
	if len(u) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(u))
	if mode != ModeV2 {
		return fmt.Errorf("linux.resources.unified[%q]: unified (cgroup v2) settings need a cgroup v2 host, and this host's cgroups are %s: use the other linux.resources fields", keys[0], mode)
	}
	for _, k := range keys {
		ctrl, file, ok := strings.Cut(k, ".")
		if !ok || ctrl == "" || file == "" || strings.ContainsAny(k, "/\x00") {
			return fmt.Errorf("linux.resources.unified[%q]: not a cgroup v2 file name such as \"memory.high\"", k)
		}
	}
	res.Unified = maps.Clone(u)
	return nil
}
