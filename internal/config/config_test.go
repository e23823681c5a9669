package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

func parse(t *testing.T, args []string, env map[string]string, files map[string]string) (Config, error) {
	t.Helper()
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.BindServe(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	getenv := func(k string) string { return env[k] }
	readFile := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, errors.New("no such file")
	}
	if err := ApplyEnv(fs, getenv, readFile); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	token := dir + "/metrics.token"
	if err := os.WriteFile(token, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := dir + "/short.token"
	if err := os.WriteFile(short, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		files   map[string]string
		wantErr bool
		check   func(Config) bool
	}{
		{name: "ok/defaults", check: func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.DataDir == "./civitas-data" && c.DB == "" && c.PublicURL == "http://127.0.0.1:8080"
		}},
		{name: "ok/flags", args: []string{"--addr", "0.0.0.0:9000", "--demo", "--public-url", "https://eid.example.vn/"}, check: func(c Config) bool {
			return c.Addr == "0.0.0.0:9000" && c.Demo && c.PublicURL == "https://eid.example.vn"
		}},
		{name: "ok/env", env: map[string]string{"CIVITAS_DB": "postgres://u@h/db", "CIVITAS_DEMO": "true"}, check: func(c Config) bool {
			return c.DB == "postgres://u@h/db" && c.Demo
		}},
		{name: "ok/flag beats env", args: []string{"--addr", "127.0.0.1:1"}, env: map[string]string{"CIVITAS_ADDR": "127.0.0.1:2"}, check: func(c Config) bool {
			return c.Addr == "127.0.0.1:1"
		}},
		{name: "ok/secret from file", env: map[string]string{"CIVITAS_DB_FILE": "/run/secrets/db"}, files: map[string]string{"/run/secrets/db": "postgres://u:pw@h/db\n"}, check: func(c Config) bool {
			return c.DB == "postgres://u:pw@h/db"
		}},
		{name: "fail/missing secret file", env: map[string]string{"CIVITAS_DB_FILE": "/nope"}, wantErr: true},
		{name: "fail/bad bool in env", env: map[string]string{"CIVITAS_DEMO": "maybe"}, wantErr: true},
		{name: "fail/bad addr", args: []string{"--addr", "localhost"}, wantErr: true},
		{name: "fail/bad dsn", args: []string{"--db", "mysql://x"}, wantErr: true},
		{name: "fail/bad public url", args: []string{"--public-url", "ftp://x"}, wantErr: true},
		{name: "ok/trusted proxies", env: map[string]string{"CIVITAS_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7,::ffff:198.51.100.0/120 , fd00::/8"}, check: func(c Config) bool {
			p, err := c.Proxies()
			return err == nil && len(p) == 4 && p[0].String() == "10.0.0.0/8" && p[1].String() == "192.0.2.7/32" &&
				p[2].String() == "198.51.100.0/24" && p[3].String() == "fd00::/8"
		}},
		{name: "fail/a trusted proxy that is not an address", args: []string{"--trusted-proxies", "10.0.0.0/8,proxy.local"}, wantErr: true},
		{name: "fail/a trusted prefix too long", args: []string{"--trusted-proxies", "10.0.0.0/33"}, wantErr: true},
		{name: "ok/metrics off by default", check: func(c Config) bool { return c.MetricsAddr == "" && c.MetricsToken == "" }},
		{name: "ok/metrics listener", args: []string{"--metrics-addr", "127.0.0.1:9100"}, check: func(c Config) bool {
			return c.MetricsAddr == "127.0.0.1:9100" && c.MetricsToken == ""
		}},
		{name: "ok/metrics token file", args: []string{"--metrics-token-file", token}, check: func(c Config) bool {
			return c.MetricsToken == "0123456789abcdef0123456789abcdef"
		}},
		{name: "ok/metrics token file from env", env: map[string]string{"CIVITAS_METRICS_TOKEN_FILE": token}, check: func(c Config) bool {
			return c.MetricsToken == "0123456789abcdef0123456789abcdef"
		}},
		{name: "fail/metrics token too short", args: []string{"--metrics-token-file", short}, wantErr: true},
		{name: "fail/metrics token file missing", args: []string{"--metrics-token-file", dir + "/nope"}, wantErr: true},
		{name: "fail/metrics addr not host:port", args: []string{"--metrics-addr", "9100"}, wantErr: true},
		{name: "fail/metrics addr is the main addr", args: []string{"--metrics-addr", "127.0.0.1:8080"}, wantErr: true},
		{name: "ok/support points", args: []string{"--support-point-addrs", "203.0.113.0/24, 198.51.100.7", "--support-point-budget", "500"}, check: func(c Config) bool {
			p, err := c.SupportPoints()
			return err == nil && len(p) == 2 && p[0].String() == "203.0.113.0/24" && p[1].String() == "198.51.100.7/32" && c.SupportPointBudget == 500
		}},
		{name: "ok/no support points, default budget", check: func(c Config) bool {
			p, err := c.SupportPoints()
			return err == nil && len(p) == 0 && c.SupportPointBudget == 300
		}},
		{name: "fail/a support point that is not an address", args: []string{"--support-point-addrs", "commune-a.local"}, wantErr: true},
		{name: "fail/a support-point budget of nothing", args: []string{"--support-point-budget", "0"}, wantErr: true},
		{name: "ok/demo province", args: []string{"--demo", "--demo-province", "098"}, check: func(c Config) bool { return c.Demo && c.DemoProvince == "098" }},
		{name: "ok/demo province from env", env: map[string]string{"CIVITAS_DEMO_PROVINCE": "097"}, check: func(c Config) bool { return c.DemoProvince == "097" }},
		{name: "ok/default demo province", check: func(c Config) bool { return c.DemoProvince == "099" }},
		{name: "fail/a real province's code", args: []string{"--demo-province", "001"}, wantErr: true},
		{name: "fail/bad log level", args: []string{"--log-level", "loud"}, wantErr: true},
		{name: "fail/unknown flag", args: []string{"--nope"}, wantErr: true},
		{name: "ok/smpp with its password from a file", args: []string{"--sms", "smpp", "--smpp-addr", "smsc.example.vn:2775", "--smpp-system-id", "civitas", "--sms-brandname", "CIVITAS"},
			env: map[string]string{"CIVITAS_SMPP_PASSWORD_FILE": "/run/secrets/smpp"}, files: map[string]string{"/run/secrets/smpp": "s3cret\n"},
			check: func(c Config) bool {
				return c.SMS == "smpp" && c.Notify.SMPPPassword == "s3cret" && c.Notify.SMPPASCII == "gsm7" && c.Notify.CountryCode == "84"
			}},
		{name: "fail/smpp without an SMSC", args: []string{"--sms", "smpp", "--smpp-system-id", "civitas", "--sms-brandname", "CIVITAS"}, wantErr: true},
		{name: "fail/smpp without a sender", args: []string{"--sms", "smpp", "--smpp-addr", "smsc.example.vn:2775", "--smpp-system-id", "civitas"}, wantErr: true},
		{name: "fail/smpp in an unknown alphabet", args: []string{"--sms", "smpp", "--smpp-addr", "s:1", "--smpp-system-id", "c", "--sms-brandname", "C", "--smpp-ascii", "ucs2"}, wantErr: true},
		{name: "ok/http with its token from a file", args: []string{"--sms", "http", "--sms-http-url", "https://gw.example.vn/send?to={phone}&text={text}", "--sms-http-auth", "bearer"},
			env: map[string]string{"CIVITAS_SMS_HTTP_TOKEN_FILE": "/run/secrets/gw"}, files: map[string]string{"/run/secrets/gw": "tok\n"},
			check: func(c Config) bool { return c.SMS == "http" && c.Notify.HTTPToken == "tok" }},
		{name: "fail/http without a URL", args: []string{"--sms", "http"}, wantErr: true},
		{name: "fail/an unknown driver", args: []string{"--sms", "pigeon"}, wantErr: true},
		{name: "fail/a country code with a letter", args: []string{"--sms-country-code", "8a"}, wantErr: true},
		{name: "ok/smtp", args: []string{"--smtp-addr", "mail.example.vn:587", "--smtp-from", "civitas <no-reply@example.vn>"}, check: func(c Config) bool {
			return c.Notify.SMTPAddr == "mail.example.vn:587" && c.Notify.SMTPTLS == "starttls"
		}},
		{name: "fail/smtp without a sender", args: []string{"--smtp-addr", "mail.example.vn:587"}, wantErr: true},
		{name: "fail/smtp in an unknown TLS mode", args: []string{"--smtp-addr", "m:25", "--smtp-from", "a@b.vn", "--smtp-tls", "maybe"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.args, tt.env, tt.files)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(c) {
				t.Fatalf("config = %+v", c)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("public-url"); got != "CIVITAS_PUBLIC_URL" {
		t.Fatal(got)
	}
}

// Without --demo a code must reach a phone: serve asks RealSMS.
func TestRealSMS(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		ok   bool
	}{
		{"ok/demo with the outbox", Config{Demo: true}, true},
		{"ok/demo with the log", Config{Demo: true, SMS: "log"}, true},
		{"ok/http", Config{SMS: "http"}, true},
		{"ok/smpp", Config{SMS: "smpp"}, true},
		{"fail/nothing named", Config{}, false},
		{"fail/the log", Config{SMS: "log"}, false},
		{"fail/the demo outbox", Config{SMS: "outbox"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.RealSMS()
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), "--sms") {
				t.Fatalf("the error does not name --sms: %v", err)
			}
		})
	}
}
