package validate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is a small JSON parser that keeps the byte offset of every value
// and member name, so that any field can be mapped to its line and column.
// It accepts exactly the documents encoding/json accepts (fuzzed against
// json.Valid), and on the first syntax error it stops with a message that
// explains the usual hand-editing mistakes.

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// node is one JSON value with its position.
type node struct {
	kind    kind
	off     int    // byte offset of the value's first byte
	end     int    // byte offset just past the value
	text    string // decoded string, or the literal of a number or boolean
	members []member
	elems   []*node
}

type member struct {
	name    string // decoded member name
	nameOff int    // byte offset of the opening quote of the name
	val     *node
}

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

// syntaxError is the first syntax error found.
type syntaxError struct {
	off  int
	path string
	msg  string
	hint string
}

// lineIndex converts byte offsets to 1-based line and column; a column
// counts characters (code points), so a tab is one column.
type lineIndex struct {
	data   []byte
	starts []int // byte offset of each line's first byte
}

func newLineIndex(data []byte) *lineIndex {
	li := &lineIndex{data: data, starts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	return li
}

func (li *lineIndex) lineCol(off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(li.data) {
		off = len(li.data)
	}
	i := sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, utf8.RuneCount(li.data[li.starts[i]:off]) + 1
}

func (li *lineIndex) at(off int) string {
	l, c := li.lineCol(off)
	return fmt.Sprintf("%d:%d", l, c)
}

type parser struct {
	data  []byte
	pos   int
	depth int
	li    *lineIndex
	err   *syntaxError
}

// parseJSON parses data into a tree; on a syntax error it returns nil and
// the error.
func parseJSON(data []byte, li *lineIndex) (*node, *syntaxError) {
	p := &parser{data: data, li: li}
	if strings.TrimSpace(string(data)) == "" {
		return nil, &syntaxError{off: 0, msg: "the file is empty", hint: "run `hako spec` in the bundle directory to write a default config.json"}
	}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return nil, &syntaxError{off: 0, msg: "the file starts with a UTF-8 byte order mark, which JSON does not allow (runc and Go reject it)", hint: "save the file as UTF-8 without BOM"}
	}
	p.skipSpace()
	n := p.value("")
	if p.err != nil {
		return nil, p.err
	}
	p.skipSpace()
	if p.err == nil && p.pos < len(p.data) {
		p.fail(p.pos, "", "unexpected "+p.describe(p.pos)+" after the end of the JSON document", "a config.json is a single object; delete what follows its closing '}' or move it inside")
	}
	if p.err != nil {
		return nil, p.err
	}
	return n, nil
}

func (p *parser) fail(off int, path, msg, hint string) {
	if p.err == nil {
		p.err = &syntaxError{off: off, path: path, msg: msg, hint: hint}
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		case '/':
			if p.pos+1 < len(p.data) && (p.data[p.pos+1] == '/' || p.data[p.pos+1] == '*') {
				p.fail(p.pos, "", "JSON does not allow comments", "delete the comment; to document a field, use an annotation (\"annotations\": {\"com.example.note\": \"...\"})")
			}
			return
		default:
			return
		}
	}
}

// describe names the byte at off for a message.
func (p *parser) describe(off int) string {
	if off >= len(p.data) {
		return "end of file"
	}
	r, _ := utf8.DecodeRune(p.data[off:])
	switch r {
	case '\n':
		return "end of line"
	case '\t':
		return "tab"
	case utf8.RuneError:
		return fmt.Sprintf("byte 0x%02x", p.data[off])
	}
	if r < 0x20 {
		return fmt.Sprintf("control character %U", r)
	}
	return "'" + string(r) + "'"
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '+' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (p *parser) word(off int) string {
	e := off
	for e < len(p.data) && isWordByte(p.data[e]) && e-off < 40 {
		e++
	}
	return string(p.data[off:e])
}

func (p *parser) value(path string) *node {
	if p.err != nil {
		return nil
	}
	if p.pos >= len(p.data) {
		p.fail(p.pos, path, "unexpected end of file: a value is missing", "complete the document")
		return nil
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(path)
	case c == '[':
		return p.array(path)
	case c == '"':
		return p.str(path)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(path)
	case c == '\'':
		p.fail(p.pos, path, "JSON strings must be in double quotes, not single quotes", "replace the ' quotes with \"")
	case c == ',':
		p.fail(p.pos, path, "a value is missing before this ','", "write the value, or delete the extra ','")
	case c == ']' || c == '}':
		p.fail(p.pos, path, "a value is missing before "+p.describe(p.pos), "write the value, or delete what announced it (a ':' or ',')")
	case c == '+':
		p.fail(p.pos, path, "invalid number: a JSON number cannot start with '+'", "delete the '+'")
	case c == '.':
		w := p.word(p.pos)
		p.fail(p.pos, path, "a number must start with a digit: found "+strconv.Quote(w), "write 0"+w)
	case isWordByte(c):
		w := p.word(p.pos)
		switch w {
		case "true", "false", "null":
			n := &node{off: p.pos, end: p.pos + len(w), text: w, kind: kindBool}
			if w == "null" {
				n.kind = kindNull
			}
			p.pos += len(w)
			return n
		case "True", "TRUE", "False", "FALSE", "yes", "no", "on", "off", "Yes", "No":
			p.fail(p.pos, path, "invalid value "+w+": JSON booleans are written true or false, in lower case", "write true or false")
		case "None", "nil", "NULL", "Null", "undefined":
			p.fail(p.pos, path, "invalid value "+w+": JSON's empty value is null", "write null, or leave the field out")
		case "NaN", "Infinity":
			p.fail(p.pos, path, "invalid value "+w+": JSON has no "+w, "write a number")
		default:
			p.fail(p.pos, path, "invalid value "+w+": strings must be in double quotes", "write "+strconv.Quote(w))
		}
	default:
		p.fail(p.pos, path, "unexpected "+p.describe(p.pos)+": expected a value (string, number, object, array, true, false or null)", "")
	}
	return nil
}

func (p *parser) enter(path string) bool {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.pos, path, fmt.Sprintf("the document is nested more than %d levels deep", maxDepth), "")
		return false
	}
	return true
}

func (p *parser) object(path string) *node {
	n := &node{kind: kindObject, off: p.pos}
	if !p.enter(path) {
		return nil
	}
	defer func() { p.depth-- }()
	p.pos++ // '{'
	comma := -1
	for p.err == nil {
		p.skipSpace()
		if p.err != nil {
			return nil
		}
		if p.pos >= len(p.data) {
			p.fail(p.pos, path, "unexpected end of file: the object opened at "+p.li.at(n.off)+" is not closed", "add the missing '}'")
			return nil
		}
		c := p.data[p.pos]
		if c == '}' {
			if comma >= 0 {
				p.fail(comma, path, "trailing comma: JSON does not allow a ',' after the last member of an object", "delete this ','")
				return nil
			}
			p.pos++
			n.end = p.pos
			return n
		}
		if len(n.members) > 0 && comma < 0 {
			prev := n.members[len(n.members)-1]
			if c == '"' {
				p.fail(prev.val.end, path, "missing ',' after the value of "+strconv.Quote(prev.name), "add a ',' here, before the next member")
			} else {
				p.fail(p.pos, path, "unexpected "+p.describe(p.pos)+" after the value of "+strconv.Quote(prev.name)+": expected ',' or '}'", "check for a missing ',' or a missing closing '}' or ']'")
			}
			return nil
		}
		if c != '"' {
			switch {
			case c == '\'':
				p.fail(p.pos, path, "member names must be in double quotes, not single quotes", "replace the ' quotes with \"")
			case isWordByte(c):
				w := p.word(p.pos)
				p.fail(p.pos, path, "member names must be in double quotes: found "+w, "write "+strconv.Quote(w))
			case c == ',':
				p.fail(p.pos, path, "unexpected ',': a member is missing", "delete the extra ','")
			default:
				p.fail(p.pos, path, "unexpected "+p.describe(p.pos)+": expected a member name in double quotes", "")
			}
			return nil
		}
		nameNode := p.str(path)
		if p.err != nil {
			return nil
		}
		m := member{name: nameNode.text, nameOff: nameNode.off}
		p.skipSpace()
		if p.err != nil {
			return nil
		}
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			p.fail(p.pos, path, "expected ':' after the member name "+strconv.Quote(m.name)+", found "+p.describe(p.pos), "write \"name\": value")
			return nil
		}
		p.pos++
		p.skipSpace()
		m.val = p.value(childPath(path, m.name))
		if p.err != nil {
			return nil
		}
		n.members = append(n.members, m)
		comma = -1
		p.skipSpace()
		if p.err == nil && p.pos < len(p.data) && p.data[p.pos] == ',' {
			comma = p.pos
			p.pos++
		}
	}
	return nil
}

func (p *parser) array(path string) *node {
	n := &node{kind: kindArray, off: p.pos}
	if !p.enter(path) {
		return nil
	}
	defer func() { p.depth-- }()
	p.pos++ // '['
	comma := -1
	for p.err == nil {
		p.skipSpace()
		if p.err != nil {
			return nil
		}
		if p.pos >= len(p.data) {
			p.fail(p.pos, path, "unexpected end of file: the array opened at "+p.li.at(n.off)+" is not closed", "add the missing ']'")
			return nil
		}
		c := p.data[p.pos]
		if c == ']' {
			if comma >= 0 {
				p.fail(comma, path, "trailing comma: JSON does not allow a ',' after the last element of an array", "delete this ','")
				return nil
			}
			p.pos++
			n.end = p.pos
			return n
		}
		if len(n.elems) > 0 && comma < 0 {
			prev := n.elems[len(n.elems)-1]
			if c == '"' || c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9') {
				p.fail(prev.end, path, fmt.Sprintf("missing ',' after element %d", len(n.elems)-1), "add a ',' here, between the elements")
			} else if c == '}' {
				p.fail(p.pos, path, "unexpected '}': the array opened at "+p.li.at(n.off)+" is not closed", "add the missing ']' before this '}'")
			} else {
				p.fail(p.pos, path, "unexpected "+p.describe(p.pos)+" in an array: expected ',' or ']'", "")
			}
			return nil
		}
		e := p.value(indexPath(path, len(n.elems)))
		if p.err != nil {
			return nil
		}
		n.elems = append(n.elems, e)
		comma = -1
		p.skipSpace()
		if p.err == nil && p.pos < len(p.data) && p.data[p.pos] == ',' {
			comma = p.pos
			p.pos++
		}
	}
	return nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (p *parser) str(path string) *node {
	start := p.pos
	i := p.pos + 1
	for {
		if i >= len(p.data) {
			p.fail(start, path, "the string starting here is not closed before the end of the file", "add the closing '\"'")
			return nil
		}
		c := p.data[i]
		switch {
		case c == '"':
			n := &node{kind: kindString, off: start, end: i + 1}
			raw := p.data[start : i+1]
			if err := json.Unmarshal(raw, &n.text); err != nil {
				n.text = string(raw[1 : len(raw)-1])
			}
			p.pos = i + 1
			return n
		case c == '\\':
			if i+1 >= len(p.data) {
				p.fail(start, path, "the string starting here is not closed before the end of the file", "add the closing '\"'")
				return nil
			}
			switch e := p.data[i+1]; e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(p.data) || !isHex(p.data[i+k]) {
						p.fail(i, path, "invalid escape in a string: \\u must be followed by four hex digits", "write \\u0041 for 'A', or \\\\u for a literal backslash")
						return nil
					}
				}
				i += 6
			default:
				what := "\\" + string(rune(e))
				if e < 0x21 || e > 0x7e {
					what = "'\\' followed by " + p.describe(i+1)
				}
				p.fail(i, path, "invalid escape "+what+" in a string", "write \\\\ for a backslash; JSON escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
				return nil
			}
		case c == '\n' || c == '\r':
			p.fail(start, path, "the string starting here is not closed before the end of the line", "add the closing '\"' (a line break inside a string must be written \\n)")
			return nil
		case c == '\t':
			p.fail(i, path, "a tab inside a string must be written \\t", "replace the tab with \\t")
			return nil
		case c < 0x20:
			p.fail(i, path, fmt.Sprintf("control character %U inside a string", rune(c)), fmt.Sprintf("write it as \\u%04x", c))
			return nil
		default:
			i++
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) number(path string) *node {
	start := p.pos
	i := p.pos
	if p.data[i] == '-' {
		i++
		if i >= len(p.data) || !isDigit(p.data[i]) {
			p.fail(start, path, "invalid number: '-' must be followed by a digit", "")
			return nil
		}
	}
	if p.data[i] == '0' {
		i++
		if i < len(p.data) && (p.data[i] == 'x' || p.data[i] == 'X') {
			w := p.word(start)
			hint := "write the number in decimal"
			if v, err := strconv.ParseInt(strings.TrimPrefix(w, "-"), 0, 64); err == nil {
				hint = fmt.Sprintf("write %d", v)
			}
			p.fail(start, path, "invalid number "+w+": JSON has no hexadecimal numbers", hint)
			return nil
		}
		if i < len(p.data) && isDigit(p.data[i]) {
			j := i
			for j < len(p.data) && isDigit(p.data[j]) {
				j++
			}
			w := string(p.data[start:j])
			hint := "remove the leading zeros"
			if v, err := strconv.ParseInt(strings.TrimPrefix(w, "-"), 8, 64); err == nil {
				hint = fmt.Sprintf("JSON has no octal numbers: octal %s is %d in decimal (remove the leading zero if you meant decimal)", strings.TrimPrefix(w, "-"), v)
			}
			p.fail(start, path, "invalid number "+w+": a number cannot start with 0", hint)
			return nil
		}
	} else {
		for i < len(p.data) && isDigit(p.data[i]) {
			i++
		}
	}
	if i < len(p.data) && p.data[i] == '.' {
		i++
		if i >= len(p.data) || !isDigit(p.data[i]) {
			p.fail(i-1, path, "invalid number: a digit must follow the decimal point", "write "+string(p.data[start:i])+"0")
			return nil
		}
		for i < len(p.data) && isDigit(p.data[i]) {
			i++
		}
	}
	if i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		i++
		if i < len(p.data) && (p.data[i] == '+' || p.data[i] == '-') {
			i++
		}
		if i >= len(p.data) || !isDigit(p.data[i]) {
			p.fail(start, path, "invalid number: the exponent has no digits", "")
			return nil
		}
		for i < len(p.data) && isDigit(p.data[i]) {
			i++
		}
	}
	if i < len(p.data) && isWordByte(p.data[i]) {
		w := p.word(start)
		p.fail(start, path, "invalid number "+strconv.Quote(w)+": JSON numbers have no units or suffixes", unitHint(w))
		return nil
	}
	p.pos = i
	return &node{kind: kindNumber, off: start, end: i, text: string(p.data[start:i])}
}

// unitHint explains how to write a size like 512m as a plain number.
func unitHint(w string) string {
	lw := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(w), "b"), "i"))
	mult := map[string]uint64{"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
	for suf, m := range mult {
		if v, err := strconv.ParseUint(strings.TrimSuffix(lw, suf), 10, 64); err == nil && strings.HasSuffix(lw, suf) && v <= (1<<63)/m {
			return fmt.Sprintf("write the size in bytes as a plain number: %s is %d", w, v*m)
		}
	}
	return "write a plain number"
}
