package spawn

import (
	"encoding/binary"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestNodeMask(t *testing.T) {
	for _, c := range []struct {
		list string
		want []uint64
		bad  bool
	}{
		{"", nil, false},
		{"0", []uint64{1}, false},
		{"0-2,5", []uint64{0b100111}, false},
		{" 1 , 64-65", []uint64{2, 3}, false},
		{"2-1", nil, true},
		{"1024", nil, true},
		{"a", nil, true},
		{"-1", nil, true},
	} {
		got, err := nodeMask(c.list)
		if (err != nil) != c.bad || !slices.Equal(got, c.want) {
			t.Errorf("nodeMask(%q) = %v, %v; want %v (error: %v)", c.list, got, err, c.want, c.bad)
		}
	}
}

func TestSchedAttr(t *testing.T) {
	b, err := schedAttr(&specs.Scheduler{Policy: specs.SchedDeadline, Nice: -3, Priority: 0, Runtime: 10, Deadline: 20, Period: 30,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagDLOverrun}})
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b) != 56 || le.Uint32(b) != 56 || le.Uint32(b[4:]) != 6 || le.Uint64(b[8:]) != unix.SCHED_FLAG_RESET_ON_FORK|unix.SCHED_FLAG_DL_OVERRUN ||
		int32(le.Uint32(b[16:])) != -3 || le.Uint64(b[24:]) != 10 || le.Uint64(b[32:]) != 20 || le.Uint64(b[40:]) != 30 {
		t.Errorf("struct sched_attr % x", b)
	}
	if _, err := schedAttr(&specs.Scheduler{Policy: "SCHED_NOPE"}); err == nil {
		t.Error("an unknown policy was accepted")
	}
	// The trampoline adds only what a fork loses.
	proc := &specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedRR, Priority: 3, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}}
	if trampolineSched(proc, false) != nil {
		t.Error("a process that is not forked got a trampoline scheduler")
	}
	if tb := trampolineSched(proc, true); tb == nil || le.Uint32(tb[4:]) != 2 || le.Uint64(tb[8:]) != unix.SCHED_FLAG_RESET_ON_FORK|unix.SCHED_FLAG_KEEP_PARAMS {
		t.Errorf("trampoline sched_attr for RESET_ON_FORK: % x", tb)
	}
	proc.Scheduler.Flags = nil
	if trampolineSched(proc, true) != nil {
		t.Error("a policy a fork keeps went to the trampoline")
	}
}

func TestIOPriorityValue(t *testing.T) {
	if v, err := ioPriority(&specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}); err != nil || v != 2<<13|6 {
		t.Errorf("BE 6 = %#x, %v", v, err)
	}
	if _, err := ioPriority(&specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 8}); err == nil {
		t.Error("priority 8 was accepted")
	}
}
