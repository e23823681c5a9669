package i18n

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// maxAcceptLanguageEntries bounds the work spent on one Accept-Language
// header: real browsers send a handful of entries.
const maxAcceptLanguageEntries = 16

// Negotiate chooses the language of a response: a supported ?lang= value
// first (the reader just clicked the switcher), then the lang cookie (an
// earlier choice), then the best supported entry of Accept-Language by its
// q-value, and otherwise the default. Region subtags are ignored: "en-GB"
// means "en".
func Negotiate(query, cookie, acceptLanguage string) string {
	if l, ok := Match(query); ok {
		return l
	}
	if l, ok := Match(cookie); ok {
		return l
	}
	if acceptLanguage != "" {
		if l, ok := fromAcceptLanguage(acceptLanguage); ok {
			return l
		}
	}
	return Default
}

// Match returns the supported language a tag such as "EN-gb" names.
func Match(tag string) (string, bool) {
	l := primary(tag)
	return l, Supported(l)
}

// primary returns the lowercase primary subtag of a language tag.
func primary(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	if len(tag) < 2 || len(tag) > 8 {
		return ""
	}
	return strings.ToLower(tag)
}

type weighted struct {
	lang string
	q    float64
}

// fromAcceptLanguage parses an RFC 9110 Accept-Language header and returns
// the supported language with the highest q (the earliest on ties). "*"
// stands for the default language.
func fromAcceptLanguage(h string) (string, bool) {
	var cands []weighted
	for i, part := range strings.Split(h, ",") {
		if i >= maxAcceptLanguageEntries {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if params != "" {
			name, val, ok := strings.Cut(strings.TrimSpace(params), "=")
			if !ok || strings.TrimSpace(name) != "q" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || v < 0 || v > 1 {
				continue
			}
			q = v
		}
		if q == 0 {
			continue
		}
		l := strings.TrimSpace(tag)
		if l == "*" {
			l = Default
		} else {
			l = primary(l)
		}
		if Supported(l) {
			cands = append(cands, weighted{l, q})
		}
	}
	if len(cands) == 0 {
		return "", false
	}
	slices.SortStableFunc(cands, func(a, b weighted) int { return cmp.Compare(b.q, a.q) })
	return cands[0].lang, true
}
