// Package i18n holds the message catalogues of civitas — Vietnamese (the
// default), English and Arabic (written right to left) — and chooses a
// reader's language from a query parameter, a cookie or Accept-Language.
//
// It owns the locale files in locales/ (flat "area.name" keys, the same keys
// in every language, {0}-style placeholders) and the list of languages.
// Load refuses catalogues that disagree on keys or placeholders, so a missing
// translation stops start-up instead of reaching a citizen.
//
// It must never do I/O beyond reading its embedded files, never import
// another civitas package, and never panic on a missing key or a bad
// argument: a page with a raw key on it is better than no page.
package i18n
