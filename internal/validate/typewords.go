package validate

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Messages of the type walk: what was expected, what was found, and how to
// write it instead.

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
