package draft

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// fieldStream extracts the string values of a top-level JSON object while
// the object is still arriving, so that section text can be streamed to the
// clerk as the model writes it. It is fed arbitrary pieces of the answer
// (a piece may end inside an escape, a \u sequence or a UTF-8 character)
// and reports decoded text per key. It never decides whether the answer is
// valid: the complete answer is parsed with encoding/json afterwards, and
// only that parse produces a memo.
//
// Values that are not strings (numbers, nested objects, arrays) are skipped;
// strings inside nested values are never reported.
type fieldStream struct {
	state  streamState
	stack  []byte // open containers, '{' or '['; len 1 is the top-level object
	key    []byte // the current top-level key, decoded
	isKey  bool   // the string being read is in key position
	inKey  bool   // the string being read is a top-level key
	report bool   // the string being read is a top-level value to report
	hex    []byte // digits of a pending \u escape
	high   rune   // a pending high surrogate, 0 if none
	out    []byte // decoded text of the current value not yet reported
	// failed is set once the input cannot be JSON; nothing more is reported.
	failed bool
	// fn receives the text; set for the duration of feed.
	fn func(key, text string)
}

type streamState uint8

const (
	stStart      streamState = iota // before the opening brace
	stObject                        // inside an object, expecting a key or '}'
	stColon                         // after a key, expecting ':'
	stValue                         // expecting a value
	stString                        // inside a string
	stEscape                        // after a backslash inside a string
	stUnicode                       // inside \uXXXX
	stAfterValue                    // after a value, expecting ',' or the closing bracket
	stScalar                        // inside a number, true, false or null
	stDone                          // after the top-level object
)

// feed consumes one piece of the answer and calls fn for every piece of
// decoded text of a top-level string value, with the value's key. The text
// given to fn is valid UTF-8; a character split across pieces is reported
// with the piece that completes it.
func (s *fieldStream) feed(piece string, fn func(key, text string)) {
	if s.failed {
		return
	}
	s.fn = fn
	defer func() { s.fn = nil }()
	for i := 0; i < len(piece); i++ {
		s.step(piece[i])
		if s.failed {
			return
		}
	}
	s.flush()
}

// flush reports the decoded text collected so far, holding back an
// incomplete UTF-8 character at its end.
func (s *fieldStream) flush() {
	if len(s.out) == 0 {
		return
	}
	n := completeUTF8(s.out)
	if n == 0 {
		return
	}
	// Invalid bytes in the model's output become U+FFFD, as encoding/json
	// decodes them.
	s.fn(strings.ToValidUTF8(string(s.key), "\uFFFD"), strings.ToValidUTF8(string(s.out[:n]), "\uFFFD"))
	s.out = append(s.out[:0], s.out[n:]...)
}

// completeUTF8 returns the length of the longest prefix of b that does not
// end inside a multi-byte character.
func completeUTF8(b []byte) int {
	// Look back at most utf8.UTFMax-1 bytes for the start of a character.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		c := b[i]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xC0 { // a leading byte
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

func (s *fieldStream) step(c byte) {
	switch s.state {
	case stStart:
		switch {
		case isSpace(c):
		case c == '{':
			s.stack = append(s.stack[:0], '{')
			s.state = stObject
		default:
			s.failed = true
		}
	case stObject:
		switch {
		case isSpace(c):
		case c == '"':
			s.startString(true)
		case c == '}':
			s.closeContainer(c)
		default:
			s.failed = true
		}
	case stColon:
		switch {
		case isSpace(c):
		case c == ':':
			s.state = stValue
		default:
			s.failed = true
		}
	case stValue:
		switch {
		case isSpace(c):
		case c == '"':
			s.startString(false)
		case c == '{':
			s.stack = append(s.stack, '{')
			s.state = stObject
		case c == '[':
			s.stack = append(s.stack, '[')
			s.state = stValue
		case c == ']':
			s.closeContainer(c) // an empty array
		case c == '}' || c == ',' || c == ':':
			s.failed = true
		default:
			s.state = stScalar
		}
	case stScalar:
		switch {
		case c == ',' || c == '}' || c == ']':
			s.state = stAfterValue
			s.step(c)
		case isSpace(c):
			s.state = stAfterValue
		}
	case stAfterValue:
		switch {
		case isSpace(c):
		case c == ',':
			// Inside an object a key follows, inside an array a value.
			s.state = stObject
			if s.stack[len(s.stack)-1] == '[' {
				s.state = stValue
			}
		case c == '}' || c == ']':
			s.closeContainer(c)
		default:
			s.failed = true
		}
	case stString:
		switch {
		case c == '"':
			s.endString()
		case c == '\\':
			s.state = stEscape
		default:
			s.text(c)
		}
	case stEscape:
		s.state = stString
		switch c {
		case '"', '\\', '/':
			s.text(c)
		case 'b':
			s.text('\b')
		case 'f':
			s.text('\f')
		case 'n':
			s.text('\n')
		case 'r':
			s.text('\r')
		case 't':
			s.text('\t')
		case 'u':
			s.hex = s.hex[:0]
			s.state = stUnicode
		default:
			s.failed = true
		}
	case stUnicode:
		v, ok := hexVal(c)
		if !ok {
			s.failed = true
			return
		}
		s.hex = append(s.hex, v)
		if len(s.hex) < 4 {
			return
		}
		r := rune(s.hex[0])<<12 | rune(s.hex[1])<<8 | rune(s.hex[2])<<4 | rune(s.hex[3])
		s.state = stString
		s.rune(r)
	case stDone:
		if !isSpace(c) {
			s.failed = true
		}
	}
}

// rune appends a character decoded from \u, joining surrogate pairs the way
// encoding/json does (an unpaired surrogate becomes U+FFFD).
func (s *fieldStream) rune(r rune) {
	switch {
	case utf16.IsSurrogate(r) && r < 0xDC00:
		if s.high != 0 {
			s.appendRune(utf8.RuneError)
		}
		s.high = r
		return
	case utf16.IsSurrogate(r):
		if s.high != 0 {
			s.appendRune(utf16.DecodeRune(s.high, r))
			s.high = 0
			return
		}
		s.appendRune(utf8.RuneError)
		return
	}
	if s.high != 0 {
		s.appendRune(utf8.RuneError)
		s.high = 0
	}
	s.appendRune(r)
}

func (s *fieldStream) appendRune(r rune) {
	if s.inKey || s.report {
		s.textBytes(utf8.AppendRune(nil, r))
	}
}

func (s *fieldStream) text(c byte) {
	if s.high != 0 {
		s.appendRune(utf8.RuneError)
		s.high = 0
	}
	if s.inKey {
		s.key = append(s.key, c)
	} else if s.report {
		s.out = append(s.out, c)
	}
}

func (s *fieldStream) textBytes(b []byte) {
	if s.inKey {
		s.key = append(s.key, b...)
	} else if s.report {
		s.out = append(s.out, b...)
	}
}

func (s *fieldStream) startString(key bool) {
	s.state = stString
	s.high = 0
	s.isKey = key
	top := len(s.stack) == 1
	s.inKey = key && top
	s.report = !key && top
	if s.inKey {
		s.key = s.key[:0]
	}
}

func (s *fieldStream) endString() {
	if s.high != 0 {
		s.appendRune(utf8.RuneError)
		s.high = 0
	}
	if s.report {
		// The value is complete: report it under its own key before the
		// next key replaces it.
		s.flush()
		s.out = s.out[:0]
	}
	s.inKey = false
	s.report = false
	if s.isKey {
		s.state = stColon
		return
	}
	s.state = stAfterValue
}

// closeContainer pops the innermost container; c must match it.
func (s *fieldStream) closeContainer(c byte) {
	want := byte('{')
	if c == ']' {
		want = '['
	}
	if len(s.stack) == 0 || s.stack[len(s.stack)-1] != want {
		s.failed = true
		return
	}
	s.stack = s.stack[:len(s.stack)-1]
	if len(s.stack) == 0 {
		s.state = stDone
		return
	}
	s.state = stAfterValue
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
