package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// Config is everything civitas needs to run.
type Config struct {
	Addr    string // listen address, HOST:PORT
	DataDir string // holds the SQLite database and local state
	DB      string // postgres:// DSN; empty = SQLite inside DataDir
	// KeyFile holds the key-encryption key that seals secrets at rest (64
	// hex digits). Empty: DataDir/secret.key, created on first start, which
	// is for demos; production passes a file from outside the data directory.
	KeyFile string
	// SMS names the text-message driver: "log" or "outbox" (the demo outbox
	// page). Empty: outbox with --demo, log otherwise.
	SMS       string
	PublicURL string // how the outside world reaches us; default http://Addr
	// TrustedProxies lists the reverse proxies (addresses and CIDR
	// prefixes, comma-separated) whose X-Forwarded-For names the client.
	TrustedProxies string
	// PeerAddr is where the peer listener of the data exchange listens
	// (HOST:PORT, mutual TLS); "" for none.
	PeerAddr string
	Demo     bool // load the demo province into an empty database
	// DemoPersons is the size of the demo province --demo loads.
	DemoPersons int
	LogLevel    string // debug, info, warn, error
	LogFormat   string // text or json
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration

	// KeyBackend is where the CA makes and keeps keys: "software" (sealed
	// under the key-encryption key) or "pkcs11" (an HSM token).
	KeyBackend string
	// KeyAlgorithm is the type of new keys: ecdsa-p256 or rsa-3072.
	KeyAlgorithm string
	PKCS11Module string // path of the PKCS#11 library
	PKCS11Token  string // token label
	PKCS11PIN    string // user PIN: give it as CIVITAS_PKCS11_PIN_FILE, not on the command line
}

// Default returns the defaults of the command-line contract.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "./civitas-data",
		DemoPersons:     2000,
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 15 * time.Second,
		KeyBackend:      "software",
		KeyAlgorithm:    "ecdsa-p256",
	}
}

// BindStorage registers --data and --db, shared by every subcommand that
// opens the database.
func (c *Config) BindStorage(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data `DIR` holding the SQLite database")
	fs.StringVar(&c.DB, "db", c.DB, "database `DSN`: postgres://... (default: SQLite in the data directory)")
	fs.StringVar(&c.KeyFile, "key-file", c.KeyFile, "`file` with the key that seals secrets at rest, 64 hex digits (default: DATA/secret.key, created if missing)")
	fs.StringVar(&c.KeyBackend, "key-backend", c.KeyBackend, "where new CA and signing keys are made: `software` or pkcs11")
	fs.StringVar(&c.KeyAlgorithm, "key-algorithm", c.KeyAlgorithm, "type of new CA and signing keys: `ecdsa-p256` or rsa-3072")
	fs.StringVar(&c.PKCS11Module, "pkcs11-module", c.PKCS11Module, "PKCS#11 library `path` (e.g. /usr/lib/softhsm/libsofthsm2.so)")
	fs.StringVar(&c.PKCS11Token, "pkcs11-token", c.PKCS11Token, "PKCS#11 token `label`")
	fs.StringVar(&c.PKCS11PIN, "pkcs11-pin", c.PKCS11PIN, "PKCS#11 user `PIN`; prefer CIVITAS_PKCS11_PIN_FILE, a flag is visible to other users")
}

// BindLog registers --log-level and --log-format.
func (c *Config) BindLog(fs *flag.FlagSet) {
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log `level`: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log `format`: text or json")
}

// BindServe registers the flags of `civitas serve`.
func (c *Config) BindServe(fs *flag.FlagSet) {
	c.BindStorage(fs)
	c.BindLog(fs)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen `address` HOST:PORT")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "public `URL` put into certificates, metadata and QR codes (default http://ADDR)")
	fs.StringVar(&c.PeerAddr, "peer-addr", c.PeerAddr, "`address` HOST:PORT of the data exchange's listener for peer provinces (mutual TLS); none when empty")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "load the demo province when the database is empty")
	fs.IntVar(&c.DemoPersons, "demo-persons", c.DemoPersons, "`number` of persons --demo loads")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "reverse `proxies` (addresses, CIDR prefixes, comma-separated) whose X-Forwarded-For names the client")
	fs.StringVar(&c.SMS, "sms", c.SMS, "text-message `driver`: log or outbox (default: outbox with --demo, else log)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long graceful shutdown may take")
}

// EnvName returns the environment variable for a flag: --public-url => CIVITAS_PUBLIC_URL.
func EnvName(flagName string) string {
	return "CIVITAS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// CIVITAS_NAME, or else from the file named by CIVITAS_NAME_FILE.
// Call it after fs.Parse.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string, readFile func(string) ([]byte, error)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		v, ok := getenv(name), getenv(name) != ""
		if !ok {
			path := getenv(name + "_FILE")
			if path == "" {
				return
			}
			b, err := readFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// ApplyOSEnv is ApplyEnv with the process environment.
func ApplyOSEnv(fs *flag.FlagSet) error { return ApplyEnv(fs, os.Getenv, os.ReadFile) }

// Validate checks the values and fills the derived ones (PublicURL).
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" && c.DB == "" {
		errs = append(errs, errors.New("--data must name a directory"))
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") && !strings.HasPrefix(c.DB, "sqlite:") {
		errs = append(errs, errors.New("--db must be a postgres:// URL (or sqlite:PATH)"))
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("--addr must be HOST:PORT: %w", err))
		}
	}
	if c.PeerAddr != "" {
		if _, port, err := net.SplitHostPort(c.PeerAddr); err != nil || port == "" {
			errs = append(errs, errors.New("--peer-addr must be HOST:PORT"))
		}
	}
	if c.PublicURL == "" && c.Addr != "" {
		c.PublicURL = "http://" + c.Addr
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("--public-url must be an absolute http:// or https:// URL"))
		} else {
			c.PublicURL = strings.TrimRight(u.String(), "/")
		}
	}
	if _, err := c.Proxies(); err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies must list addresses or CIDR prefixes: %w", err))
	}
	if c.DemoPersons < 0 || c.DemoPersons > 3_000_000 {
		errs = append(errs, errors.New("--demo-persons must be between 0 and 3000000"))
	}
	if _, err := c.SlogLevel(); err != nil {
		errs = append(errs, err)
	}
	switch c.SMS {
	case "", "log", "outbox":
	default:
		errs = append(errs, errors.New("--sms must be log or outbox"))
	}
	switch c.KeyBackend {
	case "", "software":
	case "pkcs11":
		if c.PKCS11Module == "" || c.PKCS11Token == "" || c.PKCS11PIN == "" {
			errs = append(errs, errors.New("--key-backend pkcs11 needs --pkcs11-module, --pkcs11-token and a PIN (CIVITAS_PKCS11_PIN_FILE)"))
		}
	default:
		errs = append(errs, errors.New("--key-backend must be software or pkcs11"))
	}
	switch c.KeyAlgorithm {
	case "", "ecdsa-p256", "rsa-3072":
	default:
		errs = append(errs, errors.New("--key-algorithm must be ecdsa-p256 or rsa-3072"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, errors.New("--log-format must be text or json"))
	}
	if err := errors.Join(errs...); err != nil {
		return &kernel.Error{Code: kernel.Invalid, Key: "error.invalid", Err: err}
	}
	return nil
}

// SlogLevel parses LogLevel.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error")
	}
	return l, nil
}

// Logger builds the process logger: structured, to w, at the configured level.
func (c *Config) Logger(w *os.File) *slog.Logger {
	lvl, _ := c.SlogLevel()
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Proxies reads TrustedProxies, a comma-separated list of addresses and
// CIDR prefixes ("10.0.0.0/8, 192.0.2.7"); empty gives none.
func (c Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(c.TrustedProxies, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
