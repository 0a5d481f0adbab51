package validate

import (
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
//
// The walk also decodes: it stores every value into the spec exactly as
// encoding/json.Unmarshal would (a value of the wrong type is dropped, a
// pointer is allocated before its value is checked, a repeated member
// merges into what the first one decoded, null zeroes a pointer, slice or
// map). encoding/json pays about a millisecond, once per process, to learn
// the spec's types by reflection; create and run would pay it on every
// start. A kind the walk cannot decode (an interface, a map with non-string
// keys, an embedded struct) sets fallback, and the caller decodes with
// encoding/json instead.

type fieldInfo struct {
	name     string // JSON name
	typ      reflect.Type
	platform string // the platform tag of specs-go, "" for all
	index    []int  // the field's index path (more than one: embedded)
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
				for _, ef := range fieldsOf(ft) {
					ef.index = append([]int{i}, ef.index...)
					out = append(out, ef)
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{name: name, typ: f.Type, platform: f.Tag.Get("platform"), index: []int{i}})
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
	fallback bool     // the walk met a kind it does not decode
}

func (w *walker) problem(off int, sev Severity, path, rule, msg, hint string) {
	line, col := w.li.lineCol(off)
	w.add(FieldError{Line: line, Col: col, Path: path, Problem: msg, Hint: hint, Rule: rule, Severity: sev})
}

// walk checks n against type t and decodes it into v (settable, of type
// t).
func (w *walker) walk(n *node, t reflect.Type, v reflect.Value, path string) {
	if n == nil {
		return
	}
	w.valOff[path] = n.off
	if n.kind == kindNull {
		w.nulls[path] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if v.IsNil() {
			v.Set(reflect.New(t))
		}
		v = v.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.kind != kindObject {
			w.mismatch(n, t, path)
			return
		}
		w.walkStruct(n, t, v, path)
	case reflect.Map:
		if n.kind != kindObject {
			w.mismatch(n, t, path)
			return
		}
		if t.Key().Kind() != reflect.String {
			w.fallback = true
		} else if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(t, len(n.members)))
		}
		seen := map[string]int{}
		for _, m := range n.members {
			kp := keyPath(path, m.name)
			if prev, dup := seen[m.name]; dup {
				w.problem(m.nameOff, SeverityWarning, kp, ruleFor(kp), "the key "+strconv.Quote(m.name)+" appears twice (first at "+w.li.at(prev)+"); the last one wins", "keep only one of them")
			}
			seen[m.name] = m.nameOff
			w.keyOff[kp] = m.nameOff
			e := reflect.New(t.Elem()).Elem()
			w.walk(m.val, t.Elem(), e, kp)
			if !w.fallback {
				v.SetMapIndex(reflect.ValueOf(m.name).Convert(t.Key()), e)
			}
		}
	case reflect.Slice, reflect.Array:
		if n.kind != kindArray {
			w.mismatch(n, t, path)
			return
		}
		if t.Kind() == reflect.Slice {
			// As encoding/json: elements already there (a repeated
			// member) are decoded into, the rest start from zero.
			switch k := len(n.elems); {
			case k == 0:
				v.Set(reflect.MakeSlice(t, 0, 0)) // [] is empty, not nil
			case k > v.Cap():
				nv := reflect.MakeSlice(t, k, k)
				reflect.Copy(nv, v)
				v.Set(nv)
			default:
				v.SetLen(k)
			}
		} else {
			for i := len(n.elems); i < v.Len(); i++ {
				v.Index(i).SetZero()
			}
		}
		for i, e := range n.elems {
			if i >= v.Len() {
				break // a fixed-size array takes what fits
			}
			w.walk(e, t.Elem(), v.Index(i), indexPath(path, i))
		}
	case reflect.String:
		if n.kind != kindString {
			w.mismatch(n, t, path)
			return
		}
		v.SetString(n.text)
	case reflect.Bool:
		if n.kind != kindBool {
			w.mismatch(n, t, path)
			return
		}
		v.SetBool(n.text == "true")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind != kindNumber {
			w.mismatch(n, t, path)
		} else if i, err := strconv.ParseInt(n.text, 10, t.Bits()); err != nil {
			w.badNumber(n, t, path)
		} else {
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n.kind != kindNumber {
			w.mismatch(n, t, path)
		} else if u, err := strconv.ParseUint(n.text, 10, t.Bits()); err != nil {
			w.badNumber(n, t, path)
		} else {
			v.SetUint(u)
		}
	case reflect.Float32, reflect.Float64:
		if n.kind != kindNumber {
			w.mismatch(n, t, path)
		} else if f, err := strconv.ParseFloat(n.text, t.Bits()); err != nil {
			w.badNumber(n, t, path)
		} else {
			v.SetFloat(f)
		}
	default:
		w.fallback = true
	}
}

func (w *walker) walkStruct(n *node, t reflect.Type, v reflect.Value, path string) {
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
		if len(f.index) != 1 {
			w.fallback = true // embedded: encoding/json's rules, not ours
			w.walk(m.val, f.typ, reflect.New(f.typ).Elem(), cp)
			continue
		}
		w.walk(m.val, f.typ, v.Field(f.index[0]), cp)
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
