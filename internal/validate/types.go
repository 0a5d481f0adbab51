package validate

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The type walk compares the parsed tree with the Go types of specs-go, the
// way encoding/json will decode it: a wrong type is an error (json would
// drop the value), an unknown member a warning (runtimes ignore it), a name
// that only matches case-insensitively a warning (Go runtimes accept it,
// other tools may not), a repeated name a warning (the last one wins).

type fieldInfo struct {
	name     string // JSON name
	typ      reflect.Type
	platform string // the platform tag of specs-go, "" for all
}

var fieldCache sync.Map // reflect.Type -> []fieldInfo

// fieldsOf lists the JSON fields of struct type t, with embedded structs
// flattened as encoding/json does.
func fieldsOf(t reflect.Type) []fieldInfo {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]fieldInfo)
	}
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, fieldsOf(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{name: name, typ: f.Type, platform: f.Tag.Get("platform")})
	}
	fieldCache.Store(t, out)
	return out
}

func fieldNames(fs []fieldInfo) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}

type walker struct {
	li     *lineIndex
	add    func(FieldError)
	valOff map[string]int  // canonical path -> offset of the value
	keyOff map[string]int  // canonical path -> offset of the member name
	nulls  map[string]bool // canonical paths written as null
	// misnamed maps a known field to the unknown member that is probably
	// a misspelling of it (linux.namespaces -> linux.namespace).
	misnamed map[string]string
	typeErr  []string // paths whose value has the wrong type
}

func (w *walker) problem(off int, sev Severity, path, rule, msg, hint string) {
	line, col := w.li.lineCol(off)
	w.add(FieldError{Line: line, Col: col, Path: path, Problem: msg, Hint: hint, Rule: rule, Severity: sev})
}

func (w *walker) walk(n *node, t reflect.Type, path string) {
	if n == nil {
		return
	}
	w.valOff[path] = n.off
	if n.kind == kindNull {
		w.nulls[path] = true
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.kind != kindObject {
			w.mismatch(n, t, path)
			return
		}
		w.walkStruct(n, t, path)
	case reflect.Map:
		if n.kind != kindObject {
			w.mismatch(n, t, path)
			return
		}
		seen := map[string]int{}
		for _, m := range n.members {
			kp := keyPath(path, m.name)
			if prev, dup := seen[m.name]; dup {
				w.problem(m.nameOff, SeverityWarning, kp, ruleFor(kp), "the key "+strconv.Quote(m.name)+" appears twice (first at "+w.li.at(prev)+"); the last one wins", "keep only one of them")
			}
			seen[m.name] = m.nameOff
			w.keyOff[kp] = m.nameOff
			w.walk(m.val, t.Elem(), kp)
		}
	case reflect.Slice, reflect.Array:
		if n.kind != kindArray {
			w.mismatch(n, t, path)
			return
		}
		for i, e := range n.elems {
			w.walk(e, t.Elem(), indexPath(path, i))
		}
	case reflect.String:
		if n.kind != kindString {
			w.mismatch(n, t, path)
		}
	case reflect.Bool:
		if n.kind != kindBool {
			w.mismatch(n, t, path)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind != kindNumber {
			w.mismatch(n, t, path)
		} else if _, err := strconv.ParseInt(n.text, 10, t.Bits()); err != nil {
			w.badNumber(n, t, path)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n.kind != kindNumber {
			w.mismatch(n, t, path)
		} else if _, err := strconv.ParseUint(n.text, 10, t.Bits()); err != nil {
			w.badNumber(n, t, path)
		}
	case reflect.Float32, reflect.Float64:
		if n.kind != kindNumber {
			w.mismatch(n, t, path)
		} else if _, err := strconv.ParseFloat(n.text, t.Bits()); err != nil {
			w.badNumber(n, t, path)
		}
	}
}

func (w *walker) walkStruct(n *node, t reflect.Type, path string) {
	fields := fieldsOf(t)
	seen := map[string]int{}
	for _, m := range n.members {
		var f *fieldInfo
		for i := range fields {
			if fields[i].name == m.name {
				f = &fields[i]
				break
			}
		}
		if f == nil {
			for i := range fields {
				if strings.EqualFold(fields[i].name, m.name) {
					f = &fields[i]
					break
				}
			}
			if f == nil {
				w.unknown(m, fields, path)
				continue
			}
			cp := childPath(path, f.name)
			w.problem(m.nameOff, SeverityWarning, cp, ruleExtensibility,
				"member names are case-sensitive: "+strconv.Quote(m.name)+" is not "+strconv.Quote(f.name)+" (Go runtimes such as hako and runc still read it, other tools ignore it)",
				"write "+strconv.Quote(f.name))
		}
		cp := childPath(path, f.name)
		if prev, dup := seen[f.name]; dup {
			w.problem(m.nameOff, SeverityWarning, cp, ruleFor(cp), strconv.Quote(f.name)+" appears twice (first at "+w.li.at(prev)+"); Go runtimes merge the two and the later values win, other tools may keep the first", "keep only one of them")
		}
		seen[f.name] = m.nameOff
		w.keyOff[cp] = m.nameOff
		if f.platform != "" && !strings.Contains(f.platform, "linux") && cp != "process.user.username" && m.val != nil && m.val.kind != kindNull {
			w.problem(m.nameOff, SeverityWarning, cp, rulePlatform, strconv.Quote(f.name)+" applies only to "+f.platform+"; hako runs Linux containers and ignores it", "delete it, or move the setting to its Linux equivalent")
		}
		w.walk(m.val, f.typ, cp)
	}
}

// unknown reports a member that specs-go does not know at this place.
func (w *walker) unknown(m member, fields []fieldInfo, path string) {
	cp := childPath(path, m.name)
	where := "the top level"
	if path != "" {
		where = strconv.Quote(path)
	}
	msg := "unknown field " + strconv.Quote(m.name) + " in " + where + "; runtimes ignore it"
	hint := didYouMean(m.name, fieldNames(fields))
	if s, ok := closest(m.name, fieldNames(fields)); ok && w.misnamed != nil {
		w.misnamed[childPath(path, s)] = cp
	}
	if syn, ok := synonyms[strings.ToLower(m.name)]; ok && hint == "" {
		for _, f := range fields {
			if f.name == syn {
				hint = "did you mean " + strconv.Quote(syn) + "?"
			}
		}
	}
	if hint == "" {
		if homes := linuxFirst(fieldHomes()[m.name]); len(homes) > 0 {
			hint = strconv.Quote(m.name) + " is a field of " + quoteList(homes) + "; move it there"
		}
	}
	if hint == "" {
		hint = "check the spelling against the runtime spec; if it is your own metadata, put it in \"annotations\""
	}
	w.problem(m.nameOff, SeverityWarning, cp, ruleExtensibility, msg, hint)
}

// synonyms are names from other formats (Dockerfile, compose, image
// config) for spec fields.
var synonyms = map[string]string{
	"environment": "env", "envs": "env", "command": "args", "cmd": "args", "entrypoint": "args",
	"argv": "args", "workdir": "cwd", "workingdir": "cwd", "working_dir": "cwd", "dir": "cwd",
	"caps": "capabilities", "rootfs": "root", "volumes": "mounts", "tty": "terminal",
	"version": "ociVersion", "ociversion": "ociVersion", "ulimits": "rlimits", "labels": "annotations",
	"namespace": "namespaces", "mount": "mounts", "ns": "namespaces", "sysctls": "sysctl",
}

// linuxFirst drops the homes of other platforms when a Linux one exists.
func linuxFirst(homes []string) []string {
	var out []string
	for _, h := range homes {
		switch strings.SplitN(strings.SplitN(h, ".", 2)[0], "[", 2)[0] {
		case "solaris", "windows", "vm", "zos", "freebsd":
			continue
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return homes
	}
	return out
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	if len(q) > 3 {
		q = append(q[:3], "…")
	}
	return strings.Join(q, " or ")
}

var (
	homesOnce sync.Once
	homes     map[string][]string
)

// fieldHomes maps every JSON field name of the spec to the objects (as
// generic paths such as "linux" or "mounts[]") where it is defined.
func fieldHomes() map[string][]string {
	homesOnce.Do(func() {
		homes = map[string][]string{}
		var visit func(t reflect.Type, path string, depth int)
		visit = func(t reflect.Type, path string, depth int) {
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
				if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
					path += "[]"
				}
				if t.Kind() == reflect.Map {
					path += "[KEY]"
				}
				t = t.Elem()
			}
			if t.Kind() != reflect.Struct || depth > 8 {
				return
			}
			for _, f := range fieldsOf(t) {
				where := path
				if where == "" {
					where = "the top level"
				}
				homes[f.name] = append(homes[f.name], where)
				visit(f.typ, childPath(path, f.name), depth+1)
			}
		}
		visit(specType, "", 0)
		for k := range homes {
			sort.Strings(homes[k])
		}
	})
	return homes
}

// mismatch reports a value of the wrong JSON type.
func (w *walker) mismatch(n *node, t reflect.Type, path string) {
	w.typeErr = append(w.typeErr, path)
	msg := "expected " + typeWord(t) + ", found " + valueWord(n)
	w.problem(n.off, SeverityError, path, ruleFor(path), msg, mismatchHint(n, t, path))
}

func (w *walker) badNumber(n *node, t reflect.Type, path string) {
	w.typeErr = append(w.typeErr, path)
	var msg, hint string
	switch {
	case strings.ContainsAny(n.text, ".eE") && t.Kind() != reflect.Float32 && t.Kind() != reflect.Float64:
		msg = "expected " + typeWord(t) + ", found " + n.text + ", which is not a whole number"
		hint = "write a whole number without a decimal point or exponent"
	case strings.HasPrefix(n.text, "-") && isUnsigned(t):
		msg = "expected " + typeWord(t) + ", found the negative number " + n.text
		hint = "write 0 or a positive number"
		if path == "linux.resources.memory.swappiness" || strings.HasSuffix(path, ".limit") || strings.HasSuffix(path, ".shares") || strings.HasSuffix(path, ".period") {
			hint += "; to mean \"no limit\", leave the field out"
		}
	default:
		msg = fmt.Sprintf("%s is out of range for %s (%s)", n.text, typeWord(t), rangeOf(t))
		hint = "write a smaller number"
	}
	w.problem(n.off, SeverityError, path, ruleFor(path), msg, hint)
}

func isUnsigned(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func rangeOf(t reflect.Type) string {
	bits := t.Bits()
	if isUnsigned(t) {
		return fmt.Sprintf("0..%d", uint64(1<<bits-1))
	}
	if t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64 {
		return fmt.Sprintf("a %d-bit float", bits)
	}
	return fmt.Sprintf("%d..%d", -int64(1)<<(bits-1), int64(1)<<(bits-1)-1)
}

// typeWord names a Go type the way the spec names JSON types.
func typeWord(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer (%s)", strings.TrimPrefix(t.Kind().String(), ""))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("a non-negative integer (%s)", t.Kind().String())
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		e := t.Elem()
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		switch e.Kind() {
		case reflect.String:
			return "an array of strings"
		case reflect.Struct:
			return "an array of objects"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return "an array of integers"
		}
		return "an array"
	}
	return "a value"
}

// valueWord describes a JSON value for a message.
func valueWord(n *node) string {
	switch n.kind {
	case kindString:
		return "the string " + shortQuote(n.text)
	case kindNumber:
		return "the number " + n.text
	case kindBool:
		return n.text
	case kindArray:
		return "an array"
	case kindObject:
		return "an object"
	}
	return "null"
}

func shortQuote(s string) string {
	if len(s) > 60 {
		r := []rune(s)
		if len(r) > 60 {
			s = string(r[:57]) + "..."
		}
	}
	return strconv.Quote(s)
}

func mismatchHint(n *node, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path == "" {
		return "a config.json is one JSON object: { \"ociVersion\": \"1.2.0\", ... }; run `hako spec` for a template"
	}
	switch t.Kind() {
	case reflect.Bool:
		if n.kind == kindString {
			switch strings.ToLower(n.text) {
			case "true", "yes", "on", "1", "y":
				return "write true, without quotes"
			case "false", "no", "off", "0", "n", "":
				return "write false, without quotes"
			}
		}
		return "write true or false, without quotes"
	case reflect.String:
		switch n.kind {
		case kindNumber, kindBool:
			return "put the value in double quotes: " + strconv.Quote(n.text)
		case kindArray:
			return "this field holds a single string, not a list"
		}
	case reflect.Slice, reflect.Array:
		if n.kind == kindString {
			if t.Elem().Kind() == reflect.String {
				parts := strings.Fields(n.text)
				if len(parts) > 1 {
					q := make([]string, len(parts))
					for i, p := range parts {
						q[i] = strconv.Quote(p)
					}
					return "write a list with one element per word: [" + strings.Join(q, ", ") + "]"
				}
				return "write a list: [" + strconv.Quote(n.text) + "]"
			}
		}
		if n.kind == kindObject {
			return "wrap the object in a list: [ {...} ]"
		}
		return "write a list: [ ... ]"
	case reflect.Struct, reflect.Map:
		if n.kind == kindArray {
			return "write an object { \"name\": value, ... }, not a list"
		}
		return "write an object { \"name\": value, ... }"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if n.kind == kindString {
			if _, err := strconv.ParseFloat(strings.TrimSpace(n.text), 64); err == nil {
				return "remove the quotes: write " + strings.TrimSpace(n.text)
			}
			if h := unitHint(strings.TrimSpace(n.text)); h != "write a plain number" {
				return h
			}
		}
		return "write a plain number, without quotes"
	}
	return "see the runtime spec for the type of this field"
}
