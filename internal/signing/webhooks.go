package signing

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Webhooks: an application that gives a callback_url with its request is
// told when the holder approves or refuses it, or it expires, by a POST of
// a small JSON event:
//
//	{"id": "...", "type": "signing.request.approved", "request_id": "...", "status": "approved", "time": "2025-01-02T03:04:05Z"}
//
// signed in the Civitas-Signature header, "t=<unix seconds>,v1=<hex>",
// where v1 is HMAC-SHA256 keyed with the application's webhook secret over
// "<t>.<body>" (as Stripe does). For a day after the application rotates
// its secret, a second v1 made with the previous secret follows. An event
// tells the application to look, nothing more: it never carries the SAD
// or a signature, which the application fetches by polling with its
// token.
//
// Events are written to an outbox in the transaction that decides the
// request, so a restart loses none; the worker (RunWebhooks) posts them
// with a short timeout, follows no redirect, and retries a failed post
// after 10 s, 1 min, 10 min, 1 h and 6 h, then gives up and records it.

// The webhook event types.
const (
	EventApproved = "signing.request.approved"
	EventRefused  = "signing.request.refused"
	EventExpired  = "signing.request.expired"
)

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "Civitas-Signature"

// webhookBackoff is the wait after each failed try; after the last try
// (one more than the waits) the event is given up.
var webhookBackoff = [...]time.Duration{10 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}

// WebhookAttempts is how many times an event is posted before it is given up.
const WebhookAttempts = len(webhookBackoff) + 1

const (
	webhookTimeout   = 10 * time.Second
	webhookLease     = time.Minute // a claimed event is another instance's again after this
	webhookBatch     = 32
	webhookParallel  = 8
	previousSecretOK = 24 * time.Hour
	webhookKept      = 7 * 24 * time.Hour // finished events kept for inquiries
)

// Webhook states.
const (
	webhookPending   = "pending"
	webhookDelivered = "delivered"
	webhookFailed    = "failed"
)

func errCallbackURL() error { return kernel.E(kernel.Invalid, "signing.error.callback_url") }

// CheckCallbackURL says whether raw may receive webhooks: an absolute
// https URL with a host name or a public or private address (never a
// loopback, link-local, multicast or unspecified one), or, for tests, an
// http URL to localhost, 127.0.0.1 or [::1]; no user name or password, no
// fragment, at most 2048 characters.
func CheckCallbackURL(raw string) error {
	if len(raw) > 2048 || strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) {
		return errCallbackURL()
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") || u.Host == "" {
		return errCallbackURL()
	}
	host := u.Hostname()
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errCallbackURL()
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return errCallbackURL()
	}
	switch u.Scheme {
	case "http":
		if !loopbackName(host) {
			return errCallbackURL()
		}
	case "https":
		if ip, err := netip.ParseAddr(host); err == nil {
			if !dialable(ip, false) {
				return errCallbackURL()
			}
		} else if !validHostName(host) || strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
			return errCallbackURL()
		}
	default:
		return errCallbackURL()
	}
	return nil
}

// loopbackName: the hosts an http callback may name, for tests.
func loopbackName(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// validHostName is a DNS name of letters, digits and hyphens.
func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// dialable says whether a webhook may be posted to ip. Agencies' own
// applications live on private networks, so private addresses are allowed;
// the server itself (loopback, unless for a test over http), link-local
// addresses (cloud metadata services), multicast and unspecified ones are
// not.
func dialable(ip netip.Addr, loopbackOK bool) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsMulticast(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return false
	case ip.IsLoopback():
		return loopbackOK
	case ip.Is4() && ip.As4()[0] == 0: // "this network"
		return false
	}
	return true
}

// webhookClient posts webhooks: a short timeout, no redirects followed, no
// proxy, and only to addresses dialable allows (checked on the addresses
// the name resolves to, so a name cannot lead to the server itself).
func webhookClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			lastErr := errors.New("signing: webhook address not allowed")
			for _, ip := range addrs {
				if !dialable(ip, loopbackName(host)) {
					continue
				}
				conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
				if err == nil {
					return conn, nil
				}
				lastErr = err
			}
			return nil, lastErr
		},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: webhookTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: webhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// webhookEvent is the JSON an application receives.
type webhookEvent struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
	Time      string `json:"time"`
}

// enqueueEvent writes the event of a request reaching status to the
// outbox, in the transaction that changed it; nothing without a callback.
func (s *Service) enqueueEvent(ctx context.Context, tx *db.Tx, requestID, client, callback, status string) error {
	if callback == "" {
		return nil
	}
	ev := webhookEvent{ID: kernel.NewID(), Type: "signing.request." + status, RequestID: requestID, Status: status, Time: tx.Now.UTC().Format(time.RFC3339)}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return insertWebhook(ctx, tx, ev.ID, requestID, client, callback, ev.Type, string(body))
}

// wake tells this instance's worker an event was written, after commit.
func (s *Service) wake(callback string) {
	if callback == "" {
		return
	}
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// newWebhookSecret is "whsec_" and 32 random bytes, base64url; the whole
// string is the HMAC key.
func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

func secretAAD(client string) []byte { return []byte("signing.webhook:" + client) }

func (s *Service) seal(client, secret string) string {
	return base64.StdEncoding.EncodeToString(s.o.Box.Seal([]byte(secret), secretAAD(client)))
}

func (s *Service) unseal(client, stored string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return "", kernel.Wrap(err, "signing: webhook secret")
	}
	plain, err := s.o.Box.Open(raw, secretAAD(client))
	if err != nil {
		return "", kernel.Wrap(err, "signing: webhook secret")
	}
	return string(plain), nil
}

// webhookSecrets returns, in tx, the application's secrets that sign its
// events: the current one, and the previous one for a day after a
// rotation. It makes the first on first use.
func (s *Service) webhookSecrets(ctx context.Context, tx *db.Tx, client string) ([]string, error) {
	if s.o.Box == nil {
		return nil, kernel.E(kernel.Unavailable, "signing.error.no_webhooks")
	}
	cur, prev, prevUntil, err := findWebhookSecrets(ctx, tx, client)
	if errors.Is(err, sql.ErrNoRows) {
		secret := newWebhookSecret()
		if err := insertWebhookSecret(ctx, tx, client, s.seal(client, secret)); err != nil {
			return nil, err
		}
		return []string{secret}, nil
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.unseal(client, cur)
	if err != nil {
		return nil, err
	}
	out := []string{secret}
	if prev != "" && tx.Now.Before(prevUntil) {
		old, err := s.unseal(client, prev)
		if err != nil {
			return nil, err
		}
		out = append(out, old)
	}
	return out, nil
}

// WebhookSecret returns the application's webhook secret, making it on
// first use. It is shown to the application alone and never logged.
func (s *Service) WebhookSecret(ctx context.Context, client string) (string, error) {
	if !validText(client, 200) {
		return "", kernel.E(kernel.Invalid, "signing.error.bad_request")
	}
	var secret string
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		secrets, err := s.webhookSecrets(ctx, tx, client)
		if err != nil {
			return err
		}
		secret = secrets[0]
		return nil
	})
	return secret, err
}

// RotateWebhookSecret gives the application a new webhook secret. Events
// are signed with both the new and the previous one for a day, so the
// application can switch its receiver without losing any.
func (s *Service) RotateWebhookSecret(ctx context.Context, client string) (string, time.Time, error) {
	if s.o.Box == nil {
		return "", time.Time{}, kernel.E(kernel.Unavailable, "signing.error.no_webhooks")
	}
	if !validText(client, 200) {
		return "", time.Time{}, kernel.E(kernel.Invalid, "signing.error.bad_request")
	}
	secret := newWebhookSecret()
	var until time.Time
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		cur, _, _, err := findWebhookSecrets(ctx, tx, client)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = insertWebhookSecret(ctx, tx, client, s.seal(client, secret))
		case err == nil:
			until = tx.Now.Add(previousSecretOK)
			err = rotateWebhookSecret(ctx, tx, client, s.seal(client, secret), cur, until)
		}
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "signing.webhook.rotate", SubjectType: "client", SubjectID: client})
		return err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return secret, until, nil
}

// webhookSignature is the Civitas-Signature header of body posted at t.
func webhookSignature(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		b.WriteString(",v1=" + hex.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}

// VerifyWebhook checks a webhook as its receiver must: header is the
// Civitas-Signature, body the raw request body, secret the application's
// webhook secret. One v1 must be the HMAC of "<t>.<body>", and t within
// tolerance of now (against replays; 5 minutes is usual).
func VerifyWebhook(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	bad := kernel.E(kernel.Unauthenticated, "signing.error.webhook_signature")
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return bad
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return bad
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range sigs {
		if got, err := hex.DecodeString(sig); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return bad
}

// RunWebhooks is the webhook worker: it posts the events due, at once
// when this instance wrote one and at least every poll, and writes the
// expiry events of requests whose deadline passed. Instances sharing the
// database share the work: each posts only the events it claimed. It
// returns when ctx ends; an event being posted then is posted again later.
func (s *Service) RunWebhooks(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	ctx = kernel.WithActor(ctx, kernel.System("signing.webhooks"))
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := s.ExpireRequests(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.WarnContext(ctx, "signing: expiry sweep failed", slog.Any("err", err))
		}
		if _, err := s.DeliverWebhooks(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.WarnContext(ctx, "signing: webhook delivery failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.nudge:
		}
	}
}

// ExpireRequests marks the requests with a callback whose deadline passed
// as expired and writes their expiry events (a hundred at a time). Requests
// without a callback need no sweep: they read as expired when their
// deadline passes. It returns how many it marked.
func (s *Service) ExpireRequests(ctx context.Context) (int, error) {
	now := s.o.Clock.Now()
	list, err := findDueExpiries(ctx, s.o.DB, now)
	if err != nil {
		return 0, kernel.Wrap(err, "signing: expire")
	}
	if len(list) == 0 {
		return 0, nil
	}
	n := 0
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		n = 0
		for _, d := range list {
			ok, err := expireRequest(ctx, tx, d.id)
			if err != nil {
				return err
			}
			if !ok {
				continue // decided meanwhile
			}
			n++
			if err := s.enqueueEvent(ctx, tx, d.id, d.client, d.callback, RequestExpired); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, kernel.Wrap(err, "signing: expire")
	}
	return n, nil
}

// hook is an event claimed for posting.
type hook struct {
	id, requestID, client, url, event, body string
	attempts                                int
}

// DeliverWebhooks makes one pass of the worker: it claims the events due
// (up to a batch), posts them a few at a time, and records each outcome.
// It returns how many it posted.
func (s *Service) DeliverWebhooks(ctx context.Context) (int, error) {
	if s.o.Box == nil {
		return 0, nil
	}
	now := s.o.Clock.Now()
	due, err := findDueWebhooks(ctx, s.o.DB, now, webhookBatch)
	if err != nil {
		return 0, kernel.Wrap(err, "signing: webhooks")
	}
	if len(due) == 0 {
		return 0, nil
	}
	var claimed []hook
	secrets := map[string][]string{}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		claimed = claimed[:0]
		for _, h := range due {
			ok, err := claimWebhook(ctx, tx, h.id, tx.Now.Add(webhookLease))
			if err != nil {
				return err
			}
			if !ok {
				continue // another instance has it
			}
			if _, ok := secrets[h.client]; !ok {
				if secrets[h.client], err = s.webhookSecrets(ctx, tx, h.client); err != nil {
					return err
				}
			}
			claimed = append(claimed, h)
		}
		return nil
	})
	if err != nil {
		return 0, kernel.Wrap(err, "signing: webhooks")
	}
	var wg sync.WaitGroup
	limit := make(chan struct{}, webhookParallel)
	for _, h := range claimed {
		wg.Add(1)
		limit <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-limit }()
			s.deliver(ctx, h, secrets[h.client])
		}()
	}
	wg.Wait()
	return len(claimed), nil
}

// deliver posts one event and records the outcome: delivered on any 2xx
// answer; otherwise tried again later, or given up after the last try.
func (s *Service) deliver(ctx context.Context, h hook, secrets []string) {
	start := time.Now()
	status, postErr := s.post(ctx, h, secrets)
	took := time.Since(start)
	if ctx.Err() != nil {
		return // shutting down: the claim lapses and the event is posted again
	}
	attempt := h.attempts + 1
	ok := postErr == nil && status >= 200 && status < 300
	state, next := webhookPending, time.Duration(0)
	switch {
	case ok:
		state = webhookDelivered
	case attempt >= WebhookAttempts:
		state = webhookFailed
	default:
		next = webhookBackoff[attempt-1]
	}
	host := ""
	if u, err := url.Parse(h.url); err == nil {
		host = u.Host // never the path or query, which may carry the application's own tokens
	}
	// Identifiers and outcome only: no personal data, no secret, no URL path.
	attrs := []slog.Attr{slog.String("webhook", h.id), slog.String("event", h.event), slog.String("request", h.requestID),
		slog.String("client", h.client), slog.String("host", host), slog.Int("attempt", attempt), slog.Int("status", status),
		slog.Duration("took", took), slog.String("outcome", state)}
	level := slog.LevelInfo
	if !ok {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", postError(postErr, status)))
	}
	s.o.Logger.LogAttrs(ctx, level, "signing: webhook", attrs...)
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		done := int64(0)
		if state != webhookPending {
			done = kernel.Micros(tx.Now)
		}
		if err := recordWebhook(ctx, tx, h.id, state, attempt, status, tx.Now.Add(next), done); err != nil {
			return err
		}
		if state == webhookPending {
			return nil
		}
		action := "signing.webhook.deliver"
		if state == webhookFailed {
			action = "signing.webhook.give_up"
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: action, SubjectType: "signing_request", SubjectID: h.requestID,
			Details: map[string]any{"webhook": h.id, "client": h.client, "event": h.event, "attempts": attempt, "status": status}})
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.o.Logger.ErrorContext(ctx, "signing: recording a webhook failed", slog.String("webhook", h.id), slog.Any("err", err))
	}
}

// post sends one event and returns the HTTP status.
func (s *Service) post(ctx context.Context, h hook, secrets []string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	body := []byte(h.body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(h.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "civitas-webhooks/1")
	req.Header.Set(SignatureHeader, webhookSignature(s.o.Clock.Now(), body, secrets...))
	resp, err := s.hooks.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// postError says why a post failed, for the log, without the URL (a
// *url.Error repeats it whole).
func postError(err error, status int) string {
	if err == nil {
		return "HTTP " + strconv.Itoa(status)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
