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
	// SMS names the text-message driver: "http" (an SMS gateway), "smpp"
	// (a carrier's SMSC), or for demos "outbox" (texts shown at /demo/sms)
	// and "log" (a log line says a text would have gone, never the text).
	// Empty: outbox with --demo; serve refuses to start without --demo
	// unless it is http or smpp.
	SMS       string
	Notify    Notify
	Payment   Payment
	PublicURL string // how the outside world reaches us; default http://Addr
	// TrustedProxies lists the reverse proxies (addresses and CIDR
	// prefixes, comma-separated) whose X-Forwarded-For names the client.
	TrustedProxies string
	// SupportPointAddrs lists the addresses (and CIDR prefixes,
	// comma-separated) of support points, where many citizens sign in from
	// one address; each may make SupportPointBudget wrong guesses of
	// passwords and codes within ten minutes, where any other client may
	// make 30.
	SupportPointAddrs  string
	SupportPointBudget int
	// PeerAddr is where the peer listener of the data exchange listens
	// (HOST:PORT, mutual TLS); "" for none.
	PeerAddr string
	Demo     bool // load the demo province into an empty database
	// DemoPersons is the size of the demo province --demo loads.
	DemoPersons int
	// DemoProvince is the code of the demo province --demo loads (099,
	// 098 or 097), so that two installations can run side by side
	// without sharing an identifier.
	DemoProvince string
	LogLevel     string // debug, info, warn, error
	LogFormat    string // text or json
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
	// MetricsAddr, when set, is a second listen address (HOST:PORT) that
	// serves /metrics and nothing else, for the operator's network only.
	MetricsAddr string
	// MetricsTokenFile names a file holding the bearer token a scrape must
	// send (at least MinMetricsToken characters); Validate reads it into
	// MetricsToken. With neither, the main listener has no /metrics.
	MetricsTokenFile string
	MetricsToken     string // read from MetricsTokenFile by Validate
	// MemoryLimit is the Go runtime's soft memory limit for serve
	// ("512MiB", "1GB", bytes; empty: GOMEMLIMIT, or none).
	MemoryLimit string

	// KeyBackend is where the CA makes and keeps keys: "software" (sealed
	// under the key-encryption key) or "pkcs11" (an HSM token).
	KeyBackend string
	// KeyAlgorithm is the type of new keys: ecdsa-p256 or rsa-3072.
	KeyAlgorithm string
	PKCS11Module string // path of the PKCS#11 library
	PKCS11Token  string // token label
	PKCS11PIN    string // user PIN: give it as CIVITAS_PKCS11_PIN_FILE, not on the command line
}

// Notify configures the SMS drivers and e-mail. Secrets (passwords,
// tokens) come best from CIVITAS_NAME_FILE.
type Notify struct {
	// Brandname is the sender of texts: the name registered with the
	// carriers (SMPP source address, {brandname} of the HTTP templates).
	Brandname   string
	CountryCode string // of national numbers (0912...): 84

	HTTPURL         string // the gateway's URL template
	HTTPMethod      string // POST when there is a body, else GET
	HTTPBody        string // the body template
	HTTPContentType string // of the body; application/json
	HTTPAuth        string // none, basic, bearer or header:NAME
	HTTPUser        string
	HTTPPassword    string
	HTTPToken       string
	HTTPOKJSON      string // PATH=VALUE the answer must hold
	HTTPOKRegex     string // a pattern the answer must match
	HTTPTimeout     time.Duration

	SMPPAddr        string // the SMSC, HOST:PORT
	SMPPSystemID    string
	SMPPPassword    string
	SMPPSystemType  string
	SMPPASCII       string // gsm7 or latin1: the SMSC's default alphabet
	SMPPTLS         bool
	SMPPEnquireLink time.Duration
	SMPPTimeout     time.Duration

	SMTPAddr     string // the relay, HOST:PORT; empty: no e-mail
	SMTPFrom     string
	SMTPUser     string
	SMTPPassword string
	SMTPTLS      string // starttls, require or implicit
}

// Default returns the defaults of the command-line contract.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "./civitas-data",
		DemoPersons:     2000,
		DemoProvince:    "099",
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 15 * time.Second,
		KeyBackend:      "software",
		KeyAlgorithm:    "ecdsa-p256",
		Notify: Notify{CountryCode: "84", HTTPTimeout: 10 * time.Second, SMPPASCII: "gsm7",
			SMPPEnquireLink: 30 * time.Second, SMPPTimeout: 10 * time.Second, SMTPTLS: "starttls"},
		SupportPointBudget: 300,
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
	fs.StringVar(&c.DemoProvince, "demo-province", c.DemoProvince, "`code` of the province --demo loads: 099, 098 or 097")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "reverse `proxies` (addresses, CIDR prefixes, comma-separated) whose X-Forwarded-For names the client")
	fs.StringVar(&c.SupportPointAddrs, "support-point-addrs", c.SupportPointAddrs, "addresses of support points (`CIDR,...`), where many citizens share one address: they get --support-point-budget")
	fs.IntVar(&c.SupportPointBudget, "support-point-budget", c.SupportPointBudget, "wrong passwords and codes a support point's address may send within 10 minutes, across accounts (`number`; other clients: 30)")
	fs.StringVar(&c.SMS, "sms", c.SMS, "text-message `driver`: http or smpp; outbox or log with --demo (default: outbox with --demo)")
	c.BindNotify(fs)
	c.BindPayment(fs)
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long graceful shutdown may take")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "second listen `address` HOST:PORT serving only /metrics (default: none)")
	fs.StringVar(&c.MetricsTokenFile, "metrics-token-file", c.MetricsTokenFile, "`file` with the bearer token a /metrics scrape must send (openssl rand -hex 32)")
	fs.StringVar(&c.MemoryLimit, "memory-limit", c.MemoryLimit, "soft memory `limit` of the Go runtime, as GOMEMLIMIT: 512MiB, 1GiB, bytes (default: GOMEMLIMIT, else none)")
}

// MinMetricsToken is the shortest metrics token accepted.
const MinMetricsToken = 32

// BindNotify registers the flags of the SMS drivers and of e-mail.
func (c *Config) BindNotify(fs *flag.FlagSet) {
	n := &c.Notify
	fs.StringVar(&n.Brandname, "sms-brandname", n.Brandname, "sender `name` of texts registered with the carriers (SMPP source address, {brandname})")
	fs.StringVar(&n.CountryCode, "sms-country-code", n.CountryCode, "country `code` of national numbers (0912...)")
	fs.StringVar(&n.HTTPURL, "sms-http-url", n.HTTPURL, "SMS gateway `URL` template: {phone} {phone_local} {phone_e164} {text} {brandname} {user} {password} {token} {id}")
	fs.StringVar(&n.HTTPMethod, "sms-http-method", n.HTTPMethod, "SMS gateway `method`: GET, POST or PUT (default POST with a body, else GET)")
	fs.StringVar(&n.HTTPBody, "sms-http-body", n.HTTPBody, "SMS gateway body `template` (same placeholders, escaped for the content type)")
	fs.StringVar(&n.HTTPContentType, "sms-http-content-type", n.HTTPContentType, "content `type` of the gateway body (default application/json)")
	fs.StringVar(&n.HTTPAuth, "sms-http-auth", n.HTTPAuth, "gateway `auth`: none, basic (user, password), bearer (token) or header:NAME (token)")
	fs.StringVar(&n.HTTPUser, "sms-http-user", n.HTTPUser, "gateway `user`")
	fs.StringVar(&n.HTTPPassword, "sms-http-password", n.HTTPPassword, "gateway `password`; prefer CIVITAS_SMS_HTTP_PASSWORD_FILE")
	fs.StringVar(&n.HTTPToken, "sms-http-token", n.HTTPToken, "gateway `token` or API key; prefer CIVITAS_SMS_HTTP_TOKEN_FILE")
	fs.StringVar(&n.HTTPOKJSON, "sms-http-ok-json", n.HTTPOKJSON, "`PATH=VALUE` the gateway's JSON answer must hold for success (e.g. code=00)")
	fs.StringVar(&n.HTTPOKRegex, "sms-http-ok-regex", n.HTTPOKRegex, "`pattern` the gateway's answer must match for success")
	fs.DurationVar(&n.HTTPTimeout, "sms-http-timeout", n.HTTPTimeout, "how long a gateway request may take")
	fs.StringVar(&n.SMPPAddr, "smpp-addr", n.SMPPAddr, "the carrier's SMSC `HOST:PORT`")
	fs.StringVar(&n.SMPPSystemID, "smpp-system-id", n.SMPPSystemID, "SMPP system_id (`account`)")
	fs.StringVar(&n.SMPPPassword, "smpp-password", n.SMPPPassword, "SMPP `password`; prefer CIVITAS_SMPP_PASSWORD_FILE")
	fs.StringVar(&n.SMPPSystemType, "smpp-system-type", n.SMPPSystemType, "SMPP system_type, if the carrier asks for one")
	fs.StringVar(&n.SMPPASCII, "smpp-ascii", n.SMPPASCII, "`alphabet` of texts without diacritics: gsm7 or latin1 (the SMSC's default alphabet); others go in UCS-2")
	fs.BoolVar(&n.SMPPTLS, "smpp-tls", n.SMPPTLS, "SMPP over TLS")
	fs.DurationVar(&n.SMPPEnquireLink, "smpp-enquire-link", n.SMPPEnquireLink, "SMPP keep-alive period")
	fs.DurationVar(&n.SMPPTimeout, "smpp-timeout", n.SMPPTimeout, "how long the SMSC may take to answer")
	fs.StringVar(&n.SMTPAddr, "smtp-addr", n.SMTPAddr, "e-mail relay `HOST:PORT` (empty: no e-mail)")
	fs.StringVar(&n.SMTPFrom, "smtp-from", n.SMTPFrom, "sender `address` of e-mails")
	fs.StringVar(&n.SMTPUser, "smtp-user", n.SMTPUser, "relay `user` (AUTH PLAIN, over TLS only)")
	fs.StringVar(&n.SMTPPassword, "smtp-password", n.SMTPPassword, "relay `password`; prefer CIVITAS_SMTP_PASSWORD_FILE")
	fs.StringVar(&n.SMTPTLS, "smtp-tls", n.SMTPTLS, "`mode`: starttls (when offered), require or implicit (port 465)")
}

// RealSMS says why serve must not start: without --demo a one-time code
// must reach a phone, so --sms must name a driver that texts.
func (c *Config) RealSMS() error {
	if c.Demo || c.SMS == "http" || c.SMS == "smpp" {
		return nil
	}
	return errors.New("--sms must be http or smpp without --demo (outbox and log send no text; they are for demos)")
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
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-addr must be HOST:PORT: %w", err))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, errors.New("--metrics-addr must differ from --addr"))
		}
	}
	if c.MemoryLimit != "" {
		if _, err := ParseBytes(c.MemoryLimit); err != nil {
			errs = append(errs, fmt.Errorf("--memory-limit: %w", err))
		}
	}
	if c.MetricsTokenFile != "" {
		b, err := os.ReadFile(c.MetricsTokenFile)
		c.MetricsToken = strings.TrimSpace(string(b))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--metrics-token-file: %w", err))
		case len(c.MetricsToken) < MinMetricsToken || strings.ContainsAny(c.MetricsToken, " \t\r\n"):
			c.MetricsToken = ""
			errs = append(errs, fmt.Errorf("--metrics-token-file must hold one token of at least %d characters", MinMetricsToken))
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
	if _, err := c.SupportPoints(); err != nil {
		errs = append(errs, fmt.Errorf("--support-point-addrs must list addresses or CIDR prefixes: %w", err))
	}
	if c.SupportPointBudget < 1 || c.SupportPointBudget > 100_000 {
		errs = append(errs, errors.New("--support-point-budget must be between 1 and 100000"))
	}
	if c.DemoPersons < 0 || c.DemoPersons > 3_000_000 {
		errs = append(errs, errors.New("--demo-persons must be between 0 and 3000000"))
	}
	switch c.DemoProvince {
	case "", "097", "098", "099": // the codes no real province has (internal/demo)
	default:
		errs = append(errs, errors.New("--demo-province must be 099, 098 or 097"))
	}
	if _, err := c.SlogLevel(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateNotify()...)
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

func (c *Config) validateNotify() []error {
	var errs []error
	n := c.Notify
	switch c.SMS {
	case "", "log", "outbox":
	case "http":
		if n.HTTPURL == "" {
			errs = append(errs, errors.New("--sms http needs --sms-http-url"))
		}
	case "smpp":
		if n.SMPPAddr == "" || n.SMPPSystemID == "" || n.Brandname == "" {
			errs = append(errs, errors.New("--sms smpp needs --smpp-addr, --smpp-system-id and --sms-brandname (the password as CIVITAS_SMPP_PASSWORD_FILE)"))
		}
		if n.SMPPASCII != "gsm7" && n.SMPPASCII != "latin1" {
			errs = append(errs, errors.New("--smpp-ascii must be gsm7 or latin1"))
		}
	default:
		errs = append(errs, errors.New("--sms must be http, smpp, outbox or log"))
	}
	if n.CountryCode == "" || strings.Trim(n.CountryCode, "0123456789") != "" || n.CountryCode[0] == '0' || len(n.CountryCode) > 3 {
		errs = append(errs, errors.New("--sms-country-code must be 1 to 3 digits, not starting with 0"))
	}
	if n.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(n.SMTPAddr); err != nil {
			errs = append(errs, errors.New("--smtp-addr must be HOST:PORT"))
		}
		if n.SMTPFrom == "" {
			errs = append(errs, errors.New("--smtp-addr needs --smtp-from"))
		}
		switch n.SMTPTLS {
		case "starttls", "require", "implicit":
		default:
			errs = append(errs, errors.New("--smtp-tls must be starttls, require or implicit"))
		}
	}
	return errs
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
func (c Config) Proxies() ([]netip.Prefix, error) { return prefixes(c.TrustedProxies) }

// SupportPoints reads SupportPointAddrs, a list like TrustedProxies.
func (c Config) SupportPoints() ([]netip.Prefix, error) { return prefixes(c.SupportPointAddrs) }

// prefixes reads a comma-separated list of addresses and CIDR prefixes.
func prefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(list, ",") {
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
