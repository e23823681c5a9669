package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// HTTPGatewayOptions configure an HTTPGateway: the shape of the carriers'
// "brandname SMS" services, an HTTP request per text with the number,
// the text and the sender name in the URL or the body.
//
// URL and Body are templates. Their placeholders are {phone} (84912345678),
// {phone_local} (0912345678), {phone_e164} (+84912345678), {text},
// {brandname}, {user}, {password}, {token} and {id} (a fresh random ID,
// for gateways that want one per request). In the URL each value is
// percent-encoded; in the body it is escaped for the content type: JSON
// string content for */json, form encoding for
// application/x-www-form-urlencoded, XML text for */xml (SOAP services),
// as it is otherwise.
type HTTPGatewayOptions struct {
	URL         string
	Method      string // POST (the default when there is a body) or GET
	Body        string
	ContentType string // default application/json when there is a body
	// Auth is how credentials go besides the templates: "" or "none",
	// "basic" (User and Password), "bearer" (Token) or "header:NAME"
	// (Token in the header NAME, e.g. header:X-API-Key).
	Auth     string
	User     string
	Password string
	Token    string
	// Brandname is the registered sender name.
	Brandname string
	// OKJSON, "path=value", says the text was accepted only when the JSON
	// answer holds value at path (dot-separated keys, numbers index
	// arrays): "code=00", "result.status=success". OKRegex, a regular
	// expression, must match the answer. Both are checked when given; a
	// 2xx status is always needed.
	OKJSON  string
	OKRegex string
	// CountryCode makes {phone_local} ("84" if empty).
	CountryCode string
	Timeout     time.Duration // whole request; default 10 s
	Client      *http.Client  // default: one without redirects
}

// HTTPGateway is an SMSDriver posting to an HTTP SMS gateway.
type HTTPGateway struct {
	o       HTTPGatewayOptions
	host    string
	jsonKey []string
	jsonVal string
	re      *regexp.Regexp
	client  *http.Client
}

var _ SMSDriver = (*HTTPGateway)(nil)

var placeholderRE = regexp.MustCompile(`\{([a-z_0-9]+)\}`)

var placeholders = map[string]bool{"phone": true, "phone_local": true, "phone_e164": true, "text": true,
	"brandname": true, "user": true, "password": true, "token": true, "id": true}

// NewHTTPGateway checks the options: the URL, the placeholders (a typo is
// an error now, not a text lost later), the method, auth and success tests.
func NewHTTPGateway(o HTTPGatewayOptions) (*HTTPGateway, error) {
	g := &HTTPGateway{o: o}
	probe := placeholderRE.ReplaceAllString(o.URL, "x")
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("notify: the SMS gateway URL must be an absolute http:// or https:// URL")
	}
	g.host = u.Host
	for _, t := range []string{o.URL, o.Body} {
		for _, m := range placeholderRE.FindAllStringSubmatch(t, -1) {
			if !placeholders[m[1]] {
				return nil, fmt.Errorf("notify: the SMS gateway template has an unknown placeholder {%s}", m[1])
			}
		}
	}
	if !strings.Contains(o.URL+o.Body, "{text}") {
		return nil, errors.New("notify: the SMS gateway URL or body must hold {text}")
	}
	if !strings.Contains(o.URL+o.Body, "{phone") {
		return nil, errors.New("notify: the SMS gateway URL or body must hold {phone}, {phone_local} or {phone_e164}")
	}
	switch strings.ToUpper(o.Method) {
	case "":
		g.o.Method = http.MethodPost
		if o.Body == "" {
			g.o.Method = http.MethodGet
		}
	case http.MethodGet, http.MethodPost, http.MethodPut:
		g.o.Method = strings.ToUpper(o.Method)
	default:
		return nil, errors.New("notify: the SMS gateway method must be GET, POST or PUT")
	}
	if g.o.Method == http.MethodGet && o.Body != "" {
		return nil, errors.New("notify: a GET to the SMS gateway has no body")
	}
	if o.Body != "" && g.o.ContentType == "" {
		g.o.ContentType = "application/json"
	}
	switch a := o.Auth; {
	case a == "" || a == "none":
	case a == "basic":
		if o.User == "" {
			return nil, errors.New("notify: basic auth to the SMS gateway needs a user")
		}
	case a == "bearer":
		if o.Token == "" {
			return nil, errors.New("notify: bearer auth to the SMS gateway needs a token")
		}
	case strings.HasPrefix(a, "header:"):
		name := strings.TrimPrefix(a, "header:")
		if name == "" || strings.ContainsAny(name, " :\r\n") || o.Token == "" {
			return nil, errors.New("notify: header auth to the SMS gateway needs a header name and a token")
		}
	default:
		return nil, errors.New("notify: the SMS gateway auth must be none, basic, bearer or header:NAME")
	}
	if o.OKJSON != "" {
		path, val, ok := strings.Cut(o.OKJSON, "=")
		if !ok || path == "" {
			return nil, errors.New("notify: the SMS gateway success test must be PATH=VALUE")
		}
		g.jsonKey, g.jsonVal = strings.Split(path, "."), val
	}
	if o.OKRegex != "" {
		if g.re, err = regexp.Compile(o.OKRegex); err != nil {
			return nil, fmt.Errorf("notify: the SMS gateway success pattern: %w", err)
		}
	}
	if g.o.CountryCode == "" {
		g.o.CountryCode = "84"
	}
	if g.o.Timeout <= 0 {
		g.o.Timeout = 10 * time.Second
	}
	g.client = o.Client
	if g.client == nil {
		g.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return g, nil
}

// gatewayError is a text the gateway did not take. It names the host and
// the status, never the URL (which may hold the text) or the answer.
type gatewayError struct {
	host      string
	status    int
	why       string
	permanent bool
}

func (e *gatewayError) Error() string {
	if e.status == 0 {
		return "notify: SMS gateway " + e.host + ": " + e.why
	}
	return fmt.Sprintf("notify: SMS gateway %s: HTTP %d: %s", e.host, e.status, e.why)
}

func (e *gatewayError) Permanent() bool { return e.permanent }

// SendSMS makes one request to the gateway.
func (g *HTTPGateway) SendSMS(ctx context.Context, phone, text string) error {
	vals := map[string]string{"phone": phone, "phone_local": localPhone(phone, g.o.CountryCode), "phone_e164": "+" + phone,
		"text": text, "brandname": g.o.Brandname, "user": g.o.User, "password": g.o.Password, "token": g.o.Token, "id": kernel.NewID()}
	target := fill(g.o.URL, vals, func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") })
	var body io.Reader
	if g.o.Body != "" {
		body = strings.NewReader(fill(g.o.Body, vals, escaperFor(g.o.ContentType)))
	}
	ctx, cancel := context.WithTimeout(ctx, g.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, g.o.Method, target, body)
	if err != nil {
		return &gatewayError{host: g.host, why: "the request could not be made", permanent: true}
	}
	if body != nil {
		req.Header.Set("Content-Type", g.o.ContentType)
	}
	req.Header.Set("User-Agent", "civitas-sms/1")
	switch a := g.o.Auth; {
	case a == "basic":
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(g.o.User+":"+g.o.Password)))
	case a == "bearer":
		req.Header.Set("Authorization", "Bearer "+g.o.Token)
	case strings.HasPrefix(a, "header:"):
		req.Header.Set(strings.TrimPrefix(a, "header:"), g.o.Token)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		why := "no answer"
		if errors.Is(err, context.DeadlineExceeded) {
			why = "no answer in time"
		}
		return &gatewayError{host: g.host, why: why}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return &gatewayError{host: g.host, status: resp.StatusCode, why: "the answer broke off"}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A request the gateway finds wrong will be wrong again; a busy or
		// failing gateway may take it later.
		perm := resp.StatusCode >= 400 && resp.StatusCode < 500 &&
			resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusTooEarly
		return &gatewayError{host: g.host, status: resp.StatusCode, why: "refused", permanent: perm}
	}
	if g.jsonKey != nil {
		got, ok := jsonAt(answer, g.jsonKey)
		if !ok || got != g.jsonVal {
			return &gatewayError{host: g.host, status: resp.StatusCode, why: "the answer does not say the text was accepted"}
		}
	}
	if g.re != nil && !g.re.Match(answer) {
		return &gatewayError{host: g.host, status: resp.StatusCode, why: "the answer does not match the success pattern"}
	}
	return nil
}

// fill replaces the placeholders of t with vals, each escaped.
func fill(t string, vals map[string]string, escape func(string) string) string {
	return placeholderRE.ReplaceAllStringFunc(t, func(m string) string {
		return escape(vals[m[1:len(m)-1]])
	})
}

// escaperFor escapes a value for a body of the content type.
func escaperFor(contentType string) func(string) string {
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "json"):
		return func(s string) string {
			b, _ := json.Marshal(s)
			return string(b[1 : len(b)-1])
		}
	case strings.Contains(ct, "x-www-form-urlencoded"):
		return url.QueryEscape
	case strings.Contains(ct, "xml"):
		return func(s string) string {
			var b bytes.Buffer
			_ = xml.EscapeText(&b, []byte(s))
			return b.String()
		}
	}
	return func(s string) string { return s }
}

// jsonAt reads the scalar at path in a JSON document as text: a string as
// it is, a number as written, true/false/null.
func jsonAt(doc []byte, path []string) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", false
	}
	for _, k := range path {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[k]; !ok {
				return "", false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return "", false
			}
			v = c[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "null", true
	}
	return "", false
}
