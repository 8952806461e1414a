package pdf

import (
	"bytes"
	"io"
	"strconv"

	lpdf "github.com/ledongthuc/pdf"
)

// Content streams are tokenised here rather than by the library's
// Interpret: its lexer loops forever at the end of a stream that ends
// inside a string ("(" or "<" without its closing byte), cannot be
// interrupted, and does not skip inline image data. This lexer works on
// the decoded bytes, never reads past them, and is cheaper.

// maxContentBytes bounds the decoded content of one page (or form): a
// compressed stream can inflate to gigabytes.
const maxContentBytes = 64 << 20

// operand is one value on the content stream's operand stack.
type operand struct {
	kind byte // 'n' number, 's' string, '/' name, '[' array, '?' other
	num  float64
	str  string // string bytes or name
	arr  []operand
}

// streamBytes returns the decoded data of a stream or of an array of
// streams (page contents may be split), joined by line breaks.
func streamBytes(v lpdf.Value) []byte {
	var buf bytes.Buffer
	add := func(s lpdf.Value) {
		// Content streams inflate to a few times their stored length:
		// growing the buffer once saves repeated copying.
		if n := s.Key("Length").Int64(); n > 0 {
			buf.Grow(int(min(4*n, maxContentBytes-int64(buf.Len()))))
		}
		rc := s.Reader()
		defer rc.Close()
		io.Copy(&buf, io.LimitReader(rc, int64(maxContentBytes-buf.Len())))
		buf.WriteByte('\n')
	}
	if v.Kind() == lpdf.Array {
		for i := 0; i < v.Len() && buf.Len() < maxContentBytes; i++ {
			add(v.Index(i))
		}
	} else if v.Kind() == lpdf.Stream {
		add(v)
	}
	return buf.Bytes()
}

// balanced reports whether data ends outside any string, array and
// dictionary. The library's own lexer, which parses ToUnicode maps, loops
// forever (or grows without bound) on data that does not.
func balanced(data []byte) bool {
	l := lexer{data: data}
	for {
		_, _, ok := l.next()
		if !ok || l.open {
			return !l.open
		}
	}
}

// lexer reads content stream tokens from data.
type lexer struct {
	data []byte
	pos  int
	// open reports that the data ended inside a string, array or
	// dictionary.
	open bool
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// next returns the next operand, or an operator (op != ""), or ok=false at
// the end.
func (l *lexer) next() (o operand, op string, ok bool) {
	return l.nextAt(0)
}

// maxNesting bounds nested arrays: recursion on "[[[[…" would otherwise
// exhaust the stack, which Go cannot recover from.
const maxNesting = 32

func (l *lexer) nextAt(depth int) (o operand, op string, ok bool) {
	l.skipSpace()
	if l.pos >= len(l.data) {
		return o, "", false
	}
	c := l.data[l.pos]
	switch {
	case c == '/':
		l.pos++
		start := l.pos
		for l.pos < len(l.data) && !isSpace(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
			l.pos++
		}
		return operand{kind: '/', str: string(l.data[start:l.pos])}, "", true
	case c == '(':
		l.pos++
		return operand{kind: 's', str: l.literal()}, "", true
	case c == '<':
		if l.pos+1 < len(l.data) && l.data[l.pos+1] == '<' {
			l.skipDict()
			return operand{kind: '?'}, "", true
		}
		l.pos++
		return operand{kind: 's', str: l.hex()}, "", true
	case c == '[':
		l.pos++
		var arr []operand
		for len(arr) < 1<<16 {
			l.skipSpace()
			if l.pos >= len(l.data) {
				l.open = true
				break
			}
			if l.data[l.pos] == ']' {
				l.pos++
				break
			}
			if depth >= maxNesting {
				l.pos++
				continue
			}
			e, eop, ok := l.nextAt(depth + 1)
			if !ok {
				break
			}
			if eop == "" {
				arr = append(arr, e)
			}
		}
		return operand{kind: '[', arr: arr}, "", true
	case c == ']' || c == ')' || c == '>' || c == '{' || c == '}':
		l.pos++
		return operand{kind: '?'}, "", true
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		start := l.pos
		l.pos++
		for l.pos < len(l.data) && !isSpace(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
			l.pos++
		}
		f, err := strconv.ParseFloat(string(l.data[start:l.pos]), 64)
		if err != nil {
			return operand{kind: '?'}, "", true
		}
		return operand{kind: 'n', num: f}, "", true
	}
	start := l.pos
	for l.pos < len(l.data) && !isSpace(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
		l.pos++
	}
	if l.pos == start { // a stray delimiter such as '%' handled by skipSpace
		l.pos++
		return operand{kind: '?'}, "", true
	}
	return operand{}, string(l.data[start:l.pos]), true
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		if c == '%' {
			for l.pos < len(l.data) && l.data[l.pos] != '\n' && l.data[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		if !isSpace(c) {
			return
		}
		l.pos++
	}
}

// literal reads a (string) after its opening parenthesis.
func (l *lexer) literal() string {
	var b []byte
	depth := 1
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return string(b)
			}
		case '\\':
			if l.pos >= len(l.data) {
				l.open = true
				return string(b)
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.data) && l.data[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '7'; k++ {
						v = v*8 + int(l.data[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		b = append(b, c)
	}
	l.open = true
	return string(b)
}

// hex reads a <hex string> after its opening bracket.
func (l *lexer) hex() string {
	var b []byte
	hi := -1
	closed := false
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		if c == '>' {
			closed = true
			break
		}
		v := unhex(c)
		if v < 0 {
			continue
		}
		if hi < 0 {
			hi = v
			continue
		}
		b = append(b, byte(hi<<4|v))
		hi = -1
	}
	if hi >= 0 {
		b = append(b, byte(hi<<4))
	}
	l.open = l.open || !closed
	return string(b)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// skipDict skips a << dictionary >>, nested ones included (marked-content
// properties); strings inside are skipped as strings.
func (l *lexer) skipDict() {
	depth := 0
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		switch {
		case c == '<' && l.pos+1 < len(l.data) && l.data[l.pos+1] == '<':
			depth++
			l.pos += 2
		case c == '>' && l.pos+1 < len(l.data) && l.data[l.pos+1] == '>':
			depth--
			l.pos += 2
			if depth == 0 {
				return
			}
		case c == '(':
			l.pos++
			l.literal()
		case c == '<':
			l.pos++
			l.hex()
		default:
			l.pos++
		}
	}
	l.open = true
}

// skipInlineImage skips the data of an inline image after the BI
// operator: its parameters up to ID, then binary data up to an EI that
// stands alone.
func (l *lexer) skipInlineImage() {
	for {
		_, op, ok := l.next()
		if !ok {
			return
		}
		if op == "ID" {
			break
		}
	}
	l.pos++ // the single white-space byte after ID
	for l.pos+1 < len(l.data) {
		i := bytes.Index(l.data[l.pos:], []byte("EI"))
		if i < 0 {
			l.pos = len(l.data)
			return
		}
		at := l.pos + i
		before := at == 0 || isSpace(l.data[at-1])
		after := at+2 >= len(l.data) || isSpace(l.data[at+2]) || isDelim(l.data[at+2])
		l.pos = at + 2
		if before && after {
			return
		}
	}
	l.pos = len(l.data)
}
