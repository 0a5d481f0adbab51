package validate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The tokens of jsonscan.go's parser: strings and numbers, with the
// messages for the ways people get them wrong.

// plain reports whether the inside of a string literal decodes to itself:
// no escape and valid UTF-8 (encoding/json replaces invalid bytes).
func plain(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(b)
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
			if plain(raw[1 : len(raw)-1]) {
				n.text = string(raw[1 : len(raw)-1])
			} else if err := json.Unmarshal(raw, &n.text); err != nil {
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
