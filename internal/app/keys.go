package app

import (
	"context"
	"log/slog"
	"time"

	"civitas/internal/audit"
	"civitas/internal/backup"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/sealed"
)

// sealedColumns are every column of values sealed under the key-encryption
// key, with the associated data each capability binds a value to its row
// with. A rewrap must find them all: TestEverySealedColumnIsRewrapped
// fails when a capability seals something new (a Box.Seal call or a
// *sealed column in a migration) that is not here.
var sealedColumns = []sealed.Column{
	{Table: "accounts", Key: []string{"id"}, Value: "totp_sealed", AAD: prefixAAD("totp:")},
	{Table: "oidc_keys", Key: []string{"kid"}, Value: "private_sealed", AAD: prefixAAD("oidc-key:")},
	{Table: "oidc_settings", Key: []string{"name"}, Value: "value", AAD: prefixAAD("oidc-setting:")},
	{Table: "pki_keys", Key: []string{"label"}, Value: "private_sealed", AAD: prefixAAD("pki-key:")},
	{Table: "signing_webhook_secrets", Key: []string{"client"}, Value: "secret", AAD: prefixAAD("signing.webhook:")},
	{Table: "signing_webhook_secrets", Key: []string{"client"}, Value: "previous", AAD: prefixAAD("signing.webhook:")},
	{Table: "wallet_vp_requests", Key: []string{"id"}, Value: "result_sealed", AAD: prefixAAD("wallet.vp:")},
	{Table: "wallet_renderings", Key: []string{"document_id", "lang"}, Value: "sealed", AAD: joinedAAD("wallet.rendering:")},
	{Table: "wallet_share_keys", Key: []string{"id"}, Value: "sealed", AAD: func([]string) []byte { return []byte("wallet.share.key") }},
	{Table: "wallet_documents", Key: []string{"id"}, Value: "sealed", AAD: prefixAAD("wallet.document:")},
	{Table: "wallet_holder_keys", Key: []string{"holder_kind", "holder_id"}, Value: "private_sealed", AAD: joinedAAD("wallet.holder:")},
	{Table: "payment_receipts", Key: []string{"order_id"}, Value: "sealed", AAD: prefixAAD("payment-receipt:")},
}

// prefixAAD is a capability's "prefix" + the row's single key.
func prefixAAD(prefix string) func([]string) []byte {
	return func(key []string) []byte { return []byte(prefix + key[0]) }
}

// joinedAAD is "prefix" + the row's key columns joined by ":".
func joinedAAD(prefix string) func([]string) []byte {
	return func(key []string) []byte {
		s := prefix
		for i, k := range key {
			if i > 0 {
				s += ":"
			}
			s += k
		}
		return []byte(s)
	}
}

// Rewrapped is what a change of key-encryption key did.
type Rewrapped struct {
	sealed.RewrapReport
	Checked  int64  // values then opened under the new key alone
	NewKEKID string // the new key's public name (backup.KEKID)
}

// RewrapKEK seals every sealed value again under newKey, reading them with
// from (the current key file's keys, the new one possibly among them),
// then checks that every value opens under newKey alone. It is resumable
// and safe beside running servers; servers started with a key file that
// lists the new key first and the old after it open both meanwhile.
// Audited as keys.rewrap by the operator in ctx, at the start and the end.
func RewrapKEK(ctx context.Context, d *db.DB, clock kernel.Clock, from *sealed.Box, newKey []byte, log *slog.Logger) (Rewrapped, error) {
	to, err := sealed.New(newKey)
	if err != nil {
		return Rewrapped{}, err
	}
	res := Rewrapped{NewKEKID: backup.KEKID(newKey)}
	note := func(action string, details map[string]any) error {
		return d.Update(ctx, clock.Now(), func(tx *db.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Entry{Action: action, SubjectType: "kek", SubjectID: res.NewKEKID, Details: details})
			return err
		})
	}
	if err := note("keys.rewrap.start", map[string]any{"columns": len(sealedColumns)}); err != nil {
		return res, err
	}
	start := time.Now()
	res.RewrapReport, err = sealed.Rewrap(ctx, d, clock.Now, from, to, sealedColumns, 500)
	if err != nil {
		return res, err
	}
	if res.Checked, err = sealed.Check(ctx, d, to, sealedColumns); err != nil {
		return res, err
	}
	log.Info("key-encryption key changed", slog.Int64("values", res.Values), slog.Int64("rewrapped", res.Rewrapped),
		slog.Duration("took", time.Since(start)))
	return res, note("keys.rewrap.done", map[string]any{"values": res.Values, "rewrapped": res.Rewrapped, "checked": res.Checked})
}

// OpenOIDCKeys opens the OpenID Provider's signing keys for an operator
// command (no pages, no flows).
func OpenOIDCKeys(ctx context.Context, d *db.DB, clock kernel.Clock, box *sealed.Box, log *slog.Logger) (*oidc.Provider, error) {
	return oidc.New(ctx, oidc.Options{DB: d, Clock: clock, Box: box, Logger: log})
}
