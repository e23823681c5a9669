package sdjwt

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// parseJSON reads JSON text into exactly the values encoding/json gives
// for an `any` with UseNumber — map[string]any, []any, string,
// json.Number, bool and nil, the last of repeated names winning — and
// refuses exactly what it refuses (FuzzParseJSON compares the two). It
// reads in one pass with a map or slice per container and a string per
// string: Disclosures and payloads are read on every verification, where
// encoding/json's Decoder spent a fifth of the time. A string with an
// escape, or bytes that are not UTF-8, is handed to encoding/json, so that
// what it means is what encoding/json says.
func parseJSON(b []byte) (any, error) {
	if tooDeep(b, maxDepth+2) {
		return nil, errNestedTooDeeply
	}
	p := jsonParser{b: b}
	p.space()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, errJSONSyntax
	}
	return v, nil
}

var errJSONSyntax = errors.New("invalid JSON")

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next is the byte at the read position, or 0 at the end.
func (p *jsonParser) next() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *jsonParser) value() (any, error) {
	switch c := p.next(); {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	return nil, errJSONSyntax
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return nil, errJSONSyntax
	}
	p.i += len(word)
	return v, nil
}

func (p *jsonParser) object() (any, error) {
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.next() == '}' {
		p.i++
		return m, nil
	}
	for {
		p.space()
		if p.next() != '"' {
			return nil, errJSONSyntax
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.next() != ':' {
			return nil, errJSONSyntax
		}
		p.i++
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k.(string)] = v
		p.space()
		switch p.next() {
		case ',':
			p.i++
		case '}':
			p.i++
			return m, nil
		default:
			return nil, errJSONSyntax
		}
	}
}

func (p *jsonParser) array() (any, error) {
	p.i++ // [
	a := []any{}
	p.space()
	if p.next() == ']' {
		p.i++
		return a, nil
	}
	for {
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.space()
		switch p.next() {
		case ',':
			p.i++
		case ']':
			p.i++
			return a, nil
		default:
			return nil, errJSONSyntax
		}
	}
}

func (p *jsonParser) str() (any, error) {
	start := p.i
	p.i++ // "
	escaped, ascii := false, true
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			raw := p.b[start:p.i]
			if inner := raw[1 : len(raw)-1]; !escaped && (ascii || utf8.Valid(inner)) {
				return string(inner), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.i += 2 // the escaped byte cannot end the string
		case c < 0x20:
			return nil, errJSONSyntax
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			p.i++
		}
	}
	return nil, errJSONSyntax
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.next() == '-' {
		p.i++
	}
	switch c := p.next(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		p.digits()
	default:
		return nil, errJSONSyntax
	}
	if p.next() == '.' {
		p.i++
		if !p.digits() {
			return nil, errJSONSyntax
		}
	}
	if c := p.next(); c == 'e' || c == 'E' {
		p.i++
		if c := p.next(); c == '+' || c == '-' {
			p.i++
		}
		if !p.digits() {
			return nil, errJSONSyntax
		}
	}
	return json.Number(p.b[start:p.i]), nil
}

// digits reads one or more digits and reports whether there was one.
func (p *jsonParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
