package security

import (
	"fmt"
	"sort"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var rlimitTypes = map[string]int{
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
}

// RlimitTypes lists the process.rlimits[].type names ApplyRlimits knows.
func RlimitTypes() []string {
	names := make([]string, 0, len(rlimitTypes))
	for n := range rlimitTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

func unknownRlimit(field, typ string) error {
	hint := "expected one of " + strings.Join(RlimitTypes(), ", ")
	if _, ok := rlimitTypes[strings.ToUpper(typ)]; ok {
		hint = fmt.Sprintf("did you mean %q?", strings.ToUpper(typ))
	} else if _, ok := rlimitTypes["RLIMIT_"+strings.ToUpper(typ)]; ok {
		hint = fmt.Sprintf("did you mean %q?", "RLIMIT_"+strings.ToUpper(typ))
	}
	return fmt.Errorf("%s.type: unknown resource limit %q: %s", field, typ, hint)
}

// checkRlimit refuses an unknown type or a soft limit above the hard one
// and reads the current limit of r's resource.
func checkRlimit(field string, r specs.POSIXRlimit) (int, unix.Rlimit, error) {
	var old unix.Rlimit
	res, ok := rlimitTypes[r.Type]
	if !ok {
		return 0, old, unknownRlimit(field, r.Type)
	}
	if r.Soft > r.Hard {
		return 0, old, fmt.Errorf("%s: %s soft limit %d is above its hard limit %d", field, r.Type, r.Soft, r.Hard)
	}
	if err := unix.Prlimit(0, res, nil, &old); err != nil {
		return 0, old, fmt.Errorf("%s: reading %s: %w", field, r.Type, err)
	}
	return res, old, nil
}
