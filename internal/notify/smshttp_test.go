package notify_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"civitas/internal/notify"
)

// gatewayRequest is what the fake gateway saw.
type gatewayRequest struct {
	method, path, contentType, auth, apiKey string
	query                                   map[string]string
	body                                    string
}

// gateway is an HTTP SMS gateway for the tests: it records each request
// and answers with status and body.
func gateway(t *testing.T, status int, answer string, delay time.Duration) (*httptest.Server, *[]gatewayRequest) {
	t.Helper()
	var got []gatewayRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		got = append(got, gatewayRequest{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
			auth: r.Header.Get("Authorization"), apiKey: r.Header.Get("X-Api-Key"), query: q, body: string(body)})
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// A text with everything that breaks naive templating: quotes, an
// ampersand, a plus, a newline, angle brackets, Vietnamese.
const trickyText = "Mã \"OTP\" của bạn: 123456 & <b>+1</b>\nđừng chia sẻ"

func TestHTTPGatewaySends(t *testing.T) {
	tests := []struct {
		name  string
		opts  func(url string) notify.HTTPGatewayOptions
		check func(t *testing.T, r gatewayRequest)
	}{
		{"ok/JSON with a bearer token and a success code", func(u string) notify.HTTPGatewayOptions {
			return notify.HTTPGatewayOptions{URL: u + "/v1/sms", Body: `{"to":"{phone}","text":"{text}","from":"{brandname}","ref":"{id}"}`,
				Auth: "bearer", Token: "tok-1", Brandname: "CIVITAS", OKJSON: "result.code=00"}
		}, func(t *testing.T, r gatewayRequest) {
			var b struct{ To, Text, From, Ref string }
			if err := json.Unmarshal([]byte(r.body), &b); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, r.body)
			}
			if r.method != "POST" || r.contentType != "application/json" || r.auth != "Bearer tok-1" ||
				b.To != "84912345678" || b.Text != trickyText || b.From != "CIVITAS" || len(b.Ref) != 26 {
				t.Fatalf("request %+v, body %+v", r, b)
			}
		}},
		{"ok/GET with the credentials in the query", func(u string) notify.HTTPGatewayOptions {
			return notify.HTTPGatewayOptions{URL: u + "/send?u={user}&p={password}&to={phone_local}&msg={text}&brand={brandname}",
				User: "civ", Password: "p&ss word", Brandname: "CIVITAS", OKRegex: `^OK `}
		}, func(t *testing.T, r gatewayRequest) {
			q := r.query
			if r.method != "GET" || r.body != "" || q["u"] != "civ" || q["p"] != "p&ss word" || q["to"] != "0912345678" || q["msg"] != trickyText {
				t.Fatalf("request %+v", r)
			}
		}},
		{"ok/a form with basic auth", func(u string) notify.HTTPGatewayOptions {
			return notify.HTTPGatewayOptions{URL: u + "/form", Body: "phone={phone_e164}&message={text}",
				ContentType: "application/x-www-form-urlencoded", Auth: "basic", User: "civ", Password: "pw"}
		}, func(t *testing.T, r gatewayRequest) {
			req, _ := http.NewRequest("POST", "/", strings.NewReader(r.body))
			req.Header.Set("Content-Type", r.contentType)
			if err := req.ParseForm(); err != nil {
				t.Fatal(err)
			}
			if r.auth != "Basic Y2l2OnB3" || req.PostForm.Get("phone") != "+84912345678" || req.PostForm.Get("message") != trickyText {
				t.Fatalf("request %+v, form %v", r, req.PostForm)
			}
		}},
		{"ok/SOAP with an API key header", func(u string) notify.HTTPGatewayOptions {
			return notify.HTTPGatewayOptions{URL: u + "/soap", ContentType: "text/xml; charset=utf-8", Auth: "header:X-Api-Key", Token: "key-9",
				Body: `<?xml version="1.0"?><Envelope><Body><wsCpMt><User>{user}</User><Phone>{phone}</Phone><Content>{text}</Content></wsCpMt></Body></Envelope>`,
				User: "a<b", OKRegex: `<result>1</result>`}
		}, func(t *testing.T, r gatewayRequest) {
			var env struct {
				User    string `xml:"Body>wsCpMt>User"`
				Phone   string `xml:"Body>wsCpMt>Phone"`
				Content string `xml:"Body>wsCpMt>Content"`
			}
			if err := xml.Unmarshal([]byte(r.body), &env); err != nil {
				t.Fatalf("body is not XML: %v\n%s", err, r.body)
			}
			if r.apiKey != "key-9" || env.User != "a<b" || env.Phone != "84912345678" || env.Content != trickyText {
				t.Fatalf("request %+v, envelope %+v", r, env)
			}
		}},
	}
	answers := map[string]string{"ok/JSON with a bearer token and a success code": `{"result":{"code":"00","id":7}}`,
		"ok/GET with the credentials in the query": "OK 12345", "ok/SOAP with an API key header": "<result>1</result>"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := gateway(t, 200, answers[tt.name], 0)
			g, err := notify.NewHTTPGateway(tt.opts(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.SendSMS(context.Background(), "84912345678", trickyText); err != nil {
				t.Fatal(err)
			}
			if len(*got) != 1 {
				t.Fatalf("%d requests", len(*got))
			}
			tt.check(t, (*got)[0])
		})
	}
}

func TestHTTPGatewayFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		answer    string
		delay     time.Duration
		okJSON    string
		permanent bool
	}{
		{"fail/server error is temporary", 500, "boom 123456", 0, "", false},
		{"fail/too many requests is temporary", 429, "", 0, "", false},
		{"fail/bad request is permanent", 400, `{"error":"bad phone 84912345678"}`, 0, "", true},
		{"fail/unauthorised is permanent", 401, "", 0, "", true},
		{"fail/an answer that does not say accepted", 200, `{"code":"99","message":"het tien"}`, 0, "code=00", false},
		{"fail/an answer that is not JSON", 200, `OK`, 0, "code=00", false},
		{"fail/no answer in time", 200, "", 2 * time.Second, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := gateway(t, tt.status, tt.answer, tt.delay)
			g, err := notify.NewHTTPGateway(notify.HTTPGatewayOptions{URL: srv.URL + "/sms?to={phone}&text={text}", OKJSON: tt.okJSON,
				Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			err = g.SendSMS(context.Background(), "84912345678", "code 123456")
			var p interface{ Permanent() bool }
			if err == nil || !errors.As(err, &p) || p.Permanent() != tt.permanent {
				t.Fatalf("err = %v, want permanent=%v", err, tt.permanent)
			}
			if strings.Contains(err.Error(), "123456") || strings.Contains(err.Error(), "912345678") || strings.Contains(err.Error(), "/sms") {
				t.Fatalf("the error tells the text, the number or the URL: %v", err)
			}
		})
	}
}

func TestHTTPGatewayOptions(t *testing.T) {
	tests := []struct {
		name string
		o    notify.HTTPGatewayOptions
	}{
		{"fail/no URL", notify.HTTPGatewayOptions{Body: "{phone} {text}"}},
		{"fail/not http", notify.HTTPGatewayOptions{URL: "ftp://gw/{phone}/{text}"}},
		{"fail/a typo in a placeholder", notify.HTTPGatewayOptions{URL: "https://gw/?to={phone}&t={txet}"}},
		{"fail/no text", notify.HTTPGatewayOptions{URL: "https://gw/?to={phone}"}},
		{"fail/no phone", notify.HTTPGatewayOptions{URL: "https://gw/?t={text}"}},
		{"fail/GET with a body", notify.HTTPGatewayOptions{URL: "https://gw/", Method: "GET", Body: "{phone} {text}"}},
		{"fail/DELETE", notify.HTTPGatewayOptions{URL: "https://gw/", Method: "DELETE", Body: "{phone} {text}"}},
		{"fail/bearer without a token", notify.HTTPGatewayOptions{URL: "https://gw/?to={phone}&t={text}", Auth: "bearer"}},
		{"fail/header auth without a name", notify.HTTPGatewayOptions{URL: "https://gw/?to={phone}&t={text}", Auth: "header:", Token: "x"}},
		{"fail/an unknown auth", notify.HTTPGatewayOptions{URL: "https://gw/?to={phone}&t={text}", Auth: "digest"}},
		{"fail/a success test without =", notify.HTTPGatewayOptions{URL: "https://gw/?to={phone}&t={text}", OKJSON: "code"}},
		{"fail/a bad pattern", notify.HTTPGatewayOptions{URL: "https://gw/?to={phone}&t={text}", OKRegex: "(("}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := notify.NewHTTPGateway(tt.o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := notify.NewHTTPGateway(notify.HTTPGatewayOptions{URL: "https://gw.example.vn/api?to={phone}&text={text}"}); err != nil {
		t.Fatalf("ok/a plain GET: %v", err)
	}
}
