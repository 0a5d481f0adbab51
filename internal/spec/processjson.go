package spec

import (
	"strconv"
	"unicode/utf8"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// AppendProcess appends p as a JSON object that decodes (with
// encoding/json or validate.Decode) to what encoding/json's Marshal of p
// decodes to, without encoding/json's cold start: the first Marshal of the
// spec's types in a process costs about half a millisecond of reflection,
// paid by every `hako exec` that sends its process to the init.
// TestAppendProcessMatchesEncodingJSON fills every field, so a field the
// runtime spec adds fails it until it is encoded here.
func AppendProcess(b []byte, p *specs.Process) []byte {
	w := objWriter{b: append(b, '{')}
	if p.Terminal {
		w.key("terminal")
		w.b = append(w.b, "true"...)
	}
	if c := p.ConsoleSize; c != nil {
		w.key("consoleSize")
		o := objWriter{b: append(w.b, '{')}
		o.key("height")
		o.b = strconv.AppendUint(o.b, uint64(c.Height), 10)
		o.key("width")
		o.b = strconv.AppendUint(o.b, uint64(c.Width), 10)
		w.b = append(o.b, '}')
	}
	w.key("user")
	u := objWriter{b: append(w.b, '{')}
	u.key("uid")
	u.b = strconv.AppendUint(u.b, uint64(p.User.UID), 10)
	u.key("gid")
	u.b = strconv.AppendUint(u.b, uint64(p.User.GID), 10)
	if p.User.Umask != nil {
		u.key("umask")
		u.b = strconv.AppendUint(u.b, uint64(*p.User.Umask), 10)
	}
	if len(p.User.AdditionalGids) > 0 {
		u.key("additionalGids")
		u.b = append(u.b, '[')
		for i, g := range p.User.AdditionalGids {
			if i > 0 {
				u.b = append(u.b, ',')
			}
			u.b = strconv.AppendUint(u.b, uint64(g), 10)
		}
		u.b = append(u.b, ']')
	}
	u.str("username", p.User.Username)
	w.b = append(u.b, '}')
	w.strs("args", p.Args)
	w.str("commandLine", p.CommandLine)
	w.strs("env", p.Env)
	w.key("cwd")
	w.b = appendString(w.b, p.Cwd)
	if c := p.Capabilities; c != nil {
		w.key("capabilities")
		o := objWriter{b: append(w.b, '{')}
		o.strs("bounding", c.Bounding)
		o.strs("effective", c.Effective)
		o.strs("inheritable", c.Inheritable)
		o.strs("permitted", c.Permitted)
		o.strs("ambient", c.Ambient)
		w.b = append(o.b, '}')
	}
	if len(p.Rlimits) > 0 {
		w.key("rlimits")
		w.b = append(w.b, '[')
		for i, r := range p.Rlimits {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			o := objWriter{b: append(w.b, '{')}
			o.key("type")
			o.b = appendString(o.b, r.Type)
			o.key("hard")
			o.b = strconv.AppendUint(o.b, r.Hard, 10)
			o.key("soft")
			o.b = strconv.AppendUint(o.b, r.Soft, 10)
			w.b = append(o.b, '}')
		}
		w.b = append(w.b, ']')
	}
	if p.NoNewPrivileges {
		w.key("noNewPrivileges")
		w.b = append(w.b, "true"...)
	}
	w.str("apparmorProfile", p.ApparmorProfile)
	if p.OOMScoreAdj != nil {
		w.key("oomScoreAdj")
		w.b = strconv.AppendInt(w.b, int64(*p.OOMScoreAdj), 10)
	}
	if s := p.Scheduler; s != nil {
		w.key("scheduler")
		o := objWriter{b: append(w.b, '{')}
		o.key("policy")
		o.b = appendString(o.b, string(s.Policy))
		o.int("nice", int64(s.Nice))
		o.int("priority", int64(s.Priority))
		if len(s.Flags) > 0 {
			flags := make([]string, len(s.Flags))
			for i, f := range s.Flags {
				flags[i] = string(f)
			}
			o.strs("flags", flags)
		}
		o.uint("runtime", s.Runtime)
		o.uint("deadline", s.Deadline)
		o.uint("period", s.Period)
		w.b = append(o.b, '}')
	}
	w.str("selinuxLabel", p.SelinuxLabel)
	if io := p.IOPriority; io != nil {
		w.key("ioPriority")
		o := objWriter{b: append(w.b, '{')}
		o.key("class")
		o.b = appendString(o.b, string(io.Class))
		o.key("priority")
		o.b = strconv.AppendInt(o.b, int64(io.Priority), 10)
		w.b = append(o.b, '}')
	}
	if a := p.ExecCPUAffinity; a != nil {
		w.key("execCPUAffinity")
		o := objWriter{b: append(w.b, '{')}
		o.str("initial", a.Initial)
		o.str("final", a.Final)
		w.b = append(o.b, '}')
	}
	return append(w.b, '}')
}

// AppendProcessSpec appends a spec that holds only ociVersion and, unless
// p is nil, process.
func AppendProcessSpec(b []byte, version string, p *specs.Process) []byte {
	b = append(b, `{"ociVersion":`...)
	b = appendString(b, version)
	if p != nil {
		b = append(b, `,"process":`...)
		b = AppendProcess(b, p)
	}
	return append(b, '}')
}

// objWriter appends the members of one JSON object.
type objWriter struct {
	b    []byte
	more bool
}

func (w *objWriter) key(k string) {
	if w.more {
		w.b = append(w.b, ',')
	}
	w.more = true
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
}

// str, strs, int and uint leave out empty values (omitempty).
func (w *objWriter) str(k, v string) {
	if v != "" {
		w.key(k)
		w.b = appendString(w.b, v)
	}
}

func (w *objWriter) strs(k string, v []string) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, s)
	}
	w.b = append(w.b, ']')
}

func (w *objWriter) int(k string, v int64) {
	if v != 0 {
		w.key(k)
		w.b = strconv.AppendInt(w.b, v, 10)
	}
}

func (w *objWriter) uint(k string, v uint64) {
	if v != 0 {
		w.key(k)
		w.b = strconv.AppendUint(w.b, v, 10)
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, as encoding/json does: control
// characters escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
