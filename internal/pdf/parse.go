package pdf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits that keep hostile files from costing unbounded time or memory.
const (
	maxDepth       = 64       // nesting of arrays and dictionaries
	maxObjectBytes = 16 << 20 // bytes read to parse one object, stream data excluded
	maxObjectNum   = 8388607  // ISO 32000-1 Annex C: largest object number
)

var errTooLarge = errors.New("object too large")

type tokKind int

const (
	tokEOF tokKind = iota
	tokInt
	tokReal
	tokName
	tokString
	tokDictOpen
	tokDictClose
	tokArrayOpen
	tokArrayClose
	tokKeyword
)

type token struct {
	kind tokKind
	s    string // name, string bytes or keyword
	i    int64
	f    float64
	pos  int64 // offset of the first byte
	end  int64 // offset after the last byte
}

// lexer turns bytes into tokens. It reads from a bufio.Reader and counts
// positions itself, so the same code serves the file (through io.ReaderAt)
// and decoded object streams (in memory).
type lexer struct {
	r     *bufio.Reader
	pos   int64 // absolute offset of the next byte
	limit int64 // offset past which reading is refused
	back  []token
}

func newLexer(r io.ReaderAt, off, size int64, bufSize int) *lexer {
	return &lexer{
		r:     bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), bufSize),
		pos:   off,
		limit: off + maxObjectBytes,
	}
}

func newBytesLexer(b []byte, base int64) *lexer {
	return &lexer{r: bufio.NewReader(bytes.NewReader(b)), pos: base, limit: base + int64(len(b)) + 1}
}

func (l *lexer) readByte() (byte, error) {
	if l.pos >= l.limit {
		return 0, errTooLarge
	}
	c, err := l.r.ReadByte()
	if err != nil {
		return 0, err
	}
	l.pos++
	return c, nil
}

func (l *lexer) unreadByte() {
	if l.r.UnreadByte() == nil {
		l.pos--
	}
}

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *lexer) unread(t token) { l.back = append(l.back, t) }

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() error {
	for {
		c, err := l.readByte()
		if err != nil {
			return err
		}
		if isSpace(c) {
			continue
		}
		if c == '%' {
			for {
				c, err = l.readByte()
				if err != nil {
					return err
				}
				if c == '\n' || c == '\r' {
					break
				}
			}
			continue
		}
		l.unreadByte()
		return nil
	}
}

func (l *lexer) next() (token, error) {
	if n := len(l.back); n > 0 {
		t := l.back[n-1]
		l.back = l.back[:n-1]
		return t, nil
	}
	if err := l.skipSpace(); err != nil {
		if err == io.EOF {
			return token{kind: tokEOF, pos: l.pos, end: l.pos}, nil
		}
		return token{}, err
	}
	start := l.pos
	c, err := l.readByte()
	if err != nil {
		return token{}, err
	}
	t := token{pos: start}
	switch c {
	case '[':
		t.kind = tokArrayOpen
	case ']':
		t.kind = tokArrayClose
	case '<':
		c2, err := l.readByte()
		if err == nil && c2 == '<' {
			t.kind = tokDictOpen
			break
		}
		if err == nil {
			l.unreadByte()
		}
		s, err := l.hexString()
		if err != nil {
			return token{}, err
		}
		t.kind, t.s = tokString, s
	case '>':
		c2, err := l.readByte()
		if err != nil || c2 != '>' {
			return token{}, fmt.Errorf("stray '>' at %d", start)
		}
		t.kind = tokDictClose
	case '(':
		s, err := l.literalString()
		if err != nil {
			return token{}, err
		}
		t.kind, t.s = tokString, s
	case '/':
		s, err := l.name()
		if err != nil {
			return token{}, err
		}
		t.kind, t.s = tokName, s
	case ')', '{', '}':
		return token{}, fmt.Errorf("unexpected %q at %d", c, start)
	default:
		w := []byte{c}
		for {
			c, err := l.readByte()
			if err == io.EOF {
				break
			}
			if err != nil {
				return token{}, err
			}
			if isSpace(c) || isDelimiter(c) {
				l.unreadByte()
				break
			}
			w = append(w, c)
		}
		t.s = string(w)
		if i, err := strconv.ParseInt(t.s, 10, 64); err == nil {
			t.kind, t.i = tokInt, i
		} else if looksNumeric(t.s) {
			f, err := strconv.ParseFloat(t.s, 64)
			if err != nil {
				return token{}, fmt.Errorf("bad number %q at %d", t.s, start)
			}
			t.kind, t.f = tokReal, f
		} else {
			t.kind = tokKeyword
		}
	}
	t.end = l.pos
	return t, nil
}

// looksNumeric accepts the PDF number syntax only: strconv alone would
// also take "Inf", "0x1p3" or "1e5", none of which PDF knows.
func looksNumeric(s string) bool {
	digits := 0
	dots := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		case (c == '+' || c == '-') && i == 0:
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) hexString() (string, error) {
	var out []byte
	var hi byte
	half := false
	for {
		c, err := l.readByte()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		if c == '>' {
			break
		}
		if isSpace(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return "", fmt.Errorf("bad hex digit at %d", l.pos-1)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4) // an odd final digit is followed by an implied 0
	}
	return string(out), nil
}

func (l *lexer) literalString() (string, error) {
	var out []byte
	depth := 1
	for {
		c, err := l.readByte()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return string(out), nil
			}
		case '\r':
			// An end of line inside a string means a single LF, whatever its form.
			if c2, err := l.readByte(); err == nil && c2 != '\n' {
				l.unreadByte()
			}
			c = '\n'
		case '\\':
			c2, err := l.readByte()
			if err != nil {
				return "", unexpectedEOF(err)
			}
			switch c2 {
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
				if c3, err := l.readByte(); err == nil && c3 != '\n' {
					l.unreadByte()
				}
				continue
			case '\n':
				continue
			default:
				if c2 >= '0' && c2 <= '7' {
					v := int(c2 - '0')
					for k := 0; k < 2; k++ {
						c3, err := l.readByte()
						if err != nil {
							return "", unexpectedEOF(err)
						}
						if c3 < '0' || c3 > '7' {
							l.unreadByte()
							break
						}
						v = v*8 + int(c3-'0')
					}
					c = byte(v)
				} else {
					c = c2 // "\(" "\)" "\\" and unknown escapes mean the character itself
				}
			}
		}
		out = append(out, c)
	}
}

func (l *lexer) name() (string, error) {
	var out []byte
	for {
		c, err := l.readByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if isSpace(c) || isDelimiter(c) {
			l.unreadByte()
			break
		}
		if c == '#' {
			h, err1 := l.readByte()
			lo, err2 := l.readByte()
			a, ok1 := unhex(h)
			b, ok2 := unhex(lo)
			if err1 != nil || err2 != nil || !ok1 || !ok2 {
				return "", fmt.Errorf("bad name escape at %d", l.pos)
			}
			c = a<<4 | b
		}
		out = append(out, c)
	}
	return string(out), nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// object parses one direct object, including "n g R" references.
func (l *lexer) object(depth int) (Object, error) {
	if depth > maxDepth {
		return nil, errors.New("objects nested too deeply")
	}
	t, err := l.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tokEOF:
		return nil, io.ErrUnexpectedEOF
	case tokInt:
		// "n g R" needs two tokens of look-ahead.
		t2, err := l.next()
		if err != nil {
			return nil, err
		}
		if t2.kind == tokInt {
			t3, err := l.next()
			if err != nil {
				return nil, err
			}
			if t3.kind == tokKeyword && t3.s == "R" {
				if t.i < 0 || t.i > maxObjectNum || t2.i < 0 || t2.i > 65535 {
					return nil, fmt.Errorf("bad reference at %d", t.pos)
				}
				return Ref{int(t.i), int(t2.i)}, nil
			}
			l.unread(t3)
		}
		l.unread(t2)
		return Int(t.i), nil
	case tokReal:
		return Real(t.f), nil
	case tokString:
		return String(t.s), nil
	case tokName:
		return Name(t.s), nil
	case tokArrayOpen:
		a := Array{}
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.kind == tokArrayClose {
				return a, nil
			}
			l.unread(t)
			o, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, o)
		}
	case tokDictOpen:
		d := Dict{}
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.kind == tokDictClose {
				return d, nil
			}
			if t.kind != tokName {
				return nil, fmt.Errorf("dictionary key is not a name at %d", t.pos)
			}
			o, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, isNull := o.(Null); !isNull {
				// A null value means the key is absent (ISO 32000-1 §7.3.7).
				d[Name(t.s)] = o
			}
		}
	case tokKeyword:
		switch t.s {
		case "true":
			return Bool(true), nil
		case "false":
			return Bool(false), nil
		case "null":
			return Null{}, nil
		}
	}
	return nil, fmt.Errorf("unexpected token %q at %d", t.s, t.pos)
}

func (l *lexer) expectKeyword(kw string) error {
	t, err := l.next()
	if err != nil {
		return err
	}
	if t.kind != tokKeyword || t.s != kw {
		return fmt.Errorf("expected %q at %d", kw, t.pos)
	}
	return nil
}

// indirect holds an indirect object as parsed from "n g obj ... endobj".
type indirect struct {
	ref    Ref
	obj    Object
	stream bool  // obj is the dictionary of a stream
	data   int64 // offset of the stream data when stream is set
}

// indirectHeader reads "n g obj" and the object that follows. When the
// object is a stream dictionary, it stops after the "stream" keyword's end
// of line and reports where the data starts; the data itself is not read.
func (l *lexer) indirect() (indirect, error) {
	var in indirect
	n, err := l.next()
	if err != nil {
		return in, err
	}
	g, err := l.next()
	if err != nil {
		return in, err
	}
	if n.kind != tokInt || g.kind != tokInt || n.i < 0 || n.i > maxObjectNum || g.i < 0 || g.i > 65535 {
		return in, fmt.Errorf("no object header at %d", n.pos)
	}
	if err := l.expectKeyword("obj"); err != nil {
		return in, err
	}
	in.ref = Ref{int(n.i), int(g.i)}
	in.obj, err = l.object(0)
	if err != nil {
		return in, err
	}
	t, err := l.next()
	if err != nil {
		return in, err
	}
	if t.kind == tokKeyword && t.s == "stream" {
		if _, ok := in.obj.(Dict); !ok {
			return in, fmt.Errorf("stream without dictionary at %d", t.pos)
		}
		// The keyword is followed by CRLF or LF; a lone CR is tolerated.
		c, err := l.readByte()
		if err != nil {
			return in, unexpectedEOF(err)
		}
		if c == '\r' {
			if c2, err := l.readByte(); err == nil && c2 != '\n' {
				l.unreadByte()
			}
		} else if c != '\n' {
			l.unreadByte()
		}
		in.stream = true
		in.data = l.pos
		return in, nil
	}
	// "endobj" is often missing or misspelt in real files; it is not needed.
	return in, nil
}
