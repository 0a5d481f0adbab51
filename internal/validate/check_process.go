package validate

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func (c *checker) checkProcess() {
	p := c.s.Process
	if p == nil {
		c.warnf("process", ruleProcess, `add "process": {"args": ["sh"], "cwd": "/"}, or run `+"`hako spec`"+` for a template`,
			"missing: the container can be created, but not started (process is REQUIRED when start is called)")
		return
	}
	switch {
	case len(p.Args) == 0:
		c.errorf("process.args", ruleProcess, `name the program to run, e.g. "args": ["sh"]`, "process.args must have at least one entry, the program to run")
	case p.Args[0] == "":
		c.errorf("process.args[0]", ruleProcess, "write the program to run, by name (looked up in $PATH) or by path", "the program to run is an empty string")
	}
	switch {
	case !c.given("process.cwd") || p.Cwd == "":
		c.errorf("process.cwd", ruleProcess, `add "cwd": "/"`, "missing: process.cwd is REQUIRED")
	case !isAbs(p.Cwd):
		c.errorf("process.cwd", ruleProcess, fmt.Sprintf("write %q", path.Join("/", p.Cwd)), "the working directory %q must be an absolute path", p.Cwd)
	}
	c.checkEnv("process.env", p.Env, ruleProcess)
	if p.ConsoleSize != nil && !p.Terminal {
		c.warnf("process.consoleSize", ruleProcess, `set "terminal": true, or delete consoleSize`, "consoleSize is ignored because process.terminal is not true")
	}
	if p.User.Umask != nil && *p.User.Umask > 0o777 {
		c.errorf("process.user.umask", rulePOSIXUser, "the umask is a decimal number of at most 511 (0777); 18 is 022", "umask %d is larger than 0777", *p.User.Umask)
	}
	c.checkRlimits(p.Rlimits)
	c.checkCapabilities(p.Capabilities)
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		c.errorf("process.oomScoreAdj", ruleLinuxProcess, "the kernel accepts -1000..1000", "oomScoreAdj %d is out of range", *p.OOMScoreAdj)
	}
	c.checkScheduler(p.Scheduler)
	if io := p.IOPriority; io != nil {
		switch io.Class {
		case specs.IOPRIO_CLASS_RT, specs.IOPRIO_CLASS_BE, specs.IOPRIO_CLASS_IDLE:
		default:
			c.errorf("process.ioPriority.class", ruleLinuxProcess, hintOneOf(string(io.Class), ioClasses), "unknown I/O priority class %q", io.Class)
		}
		if io.Priority < 0 || io.Priority > 7 {
			c.errorf("process.ioPriority.priority", ruleLinuxProcess, "use 0 (highest) to 7 (lowest)", "I/O priority %d is out of range", io.Priority)
		}
	}
	if a := p.ExecCPUAffinity; a != nil {
		c.checkCPUList("process.execCPUAffinity.initial", a.Initial, ruleLinuxProcess)
		c.checkCPUList("process.execCPUAffinity.final", a.Final, ruleLinuxProcess)
	}
}

var ioClasses = []string{"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"}

// hintOneOf names the valid values, or the near miss among them.
func hintOneOf(got string, valid []string) string {
	if h := didYouMean(got, valid); h != "" {
		return h
	}
	if len(valid) > 10 {
		return "valid values include " + strings.Join(valid[:10], ", ") + ", …"
	}
	return "valid values: " + strings.Join(valid, ", ")
}

var rlimitTypes = []string{
	"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
	"RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
	"RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
}

func (c *checker) checkRlimits(rl []specs.POSIXRlimit) {
	seen := map[string]int{}
	for i, r := range rl {
		p := indexPath("process.rlimits", i)
		if !contains(rlimitTypes, r.Type) {
			hint := hintOneOf(r.Type, rlimitTypes)
			if up := "RLIMIT_" + strings.ToUpper(r.Type); contains(rlimitTypes, up) {
				hint = fmt.Sprintf("write %q", up)
			}
			c.errorf(p+".type", rulePOSIXProcess, hint, "unknown rlimit type %q (see getrlimit(2))", r.Type)
		}
		if j, dup := seen[r.Type]; dup {
			c.errorf(p+".type", rulePOSIXProcess, "keep one entry per type", "%s is also set by process.rlimits[%d]: duplicated rlimit types MUST be an error", r.Type, j)
		}
		seen[r.Type] = i
		if r.Soft > r.Hard {
			c.errorf(p+".soft", rulePOSIXProcess, "make soft at most hard", "the soft limit %d is above the hard limit %d (setrlimit(2) fails with EINVAL)", r.Soft, r.Hard)
		}
	}
}

func (c *checker) checkScheduler(s *specs.Scheduler) {
	if s == nil {
		return
	}
	policies := []string{"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"}
	flags := []string{"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX"}
	if !contains(policies, string(s.Policy)) {
		c.errorf("process.scheduler.policy", ruleLinuxProcess, hintOneOf(string(s.Policy), policies), "unknown scheduling policy %q", s.Policy)
	}
	for i, f := range s.Flags {
		if !contains(flags, string(f)) {
			c.errorf(indexPath("process.scheduler.flags", i), ruleLinuxProcess, hintOneOf(string(f), flags), "unknown scheduling flag %q", f)
		}
	}
	if s.Nice < -20 || s.Nice > 19 {
		c.errorf("process.scheduler.nice", ruleLinuxProcess, "use -20 (highest priority) to 19 (lowest)", "nice %d is out of range", s.Nice)
	}
	switch s.Policy {
	case specs.SchedFIFO, specs.SchedRR:
		if s.Priority < 1 || s.Priority > 99 {
			c.errorf("process.scheduler.priority", ruleLinuxProcess, "real-time policies take a priority of 1..99", "priority %d is out of range for %s", s.Priority, s.Policy)
		}
	case specs.SchedDeadline:
		if !(s.Runtime <= s.Deadline && (s.Period == 0 || s.Deadline <= s.Period)) {
			c.errorf("process.scheduler", ruleLinuxProcess, "SCHED_DEADLINE needs runtime <= deadline <= period", "runtime %d, deadline %d and period %d are not in order (sched_setattr(2) fails with EINVAL)", s.Runtime, s.Deadline, s.Period)
		}
	default:
		if s.Priority != 0 {
			c.errorf("process.scheduler.priority", ruleLinuxProcess, "leave priority out (or 0) for this policy", "priority must be 0 for %s", s.Policy)
		}
	}
}

// cpuList matches a CPU or memory node list such as "0-3,7".
var cpuList = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*\d+(-\d+)?(,\d+(-\d+)?)*\s*$`)
})

// checkCPUList checks a list such as "0-3,7".
func (c *checker) checkCPUList(p, v, rule string) {
	if v == "" {
		return
	}
	if !cpuList().MatchString(v) {
		c.errorf(p, rule, `write a comma-separated list of numbers and ranges, e.g. "0-3,7"`, "%q is not a list of CPUs or nodes", v)
		return
	}
	for _, part := range strings.Split(strings.TrimSpace(v), ",") {
		var a, b int
		if n, _ := fmt.Sscanf(part, "%d-%d", &a, &b); n == 2 && a > b {
			c.errorf(p, rule, fmt.Sprintf("write %d-%d", b, a), "the range %q runs backwards", part)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
