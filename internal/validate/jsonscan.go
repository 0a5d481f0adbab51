package validate

import (
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
