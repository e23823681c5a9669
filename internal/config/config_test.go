package config

import (
	"errors"
	"flag"
	"io"
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
		{name: "ok/demo province", args: []string{"--demo", "--demo-province", "098"}, check: func(c Config) bool { return c.Demo && c.DemoProvince == "098" }},
		{name: "ok/demo province from env", env: map[string]string{"CIVITAS_DEMO_PROVINCE": "097"}, check: func(c Config) bool { return c.DemoProvince == "097" }},
		{name: "ok/default demo province", check: func(c Config) bool { return c.DemoProvince == "099" }},
		{name: "fail/a real province's code", args: []string{"--demo-province", "001"}, wantErr: true},
		{name: "fail/bad log level", args: []string{"--log-level", "loud"}, wantErr: true},
		{name: "fail/unknown flag", args: []string{"--nope"}, wantErr: true},
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
