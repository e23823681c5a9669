package identity

import "context"

// SMS texts a person: registration and activation codes, and the warning
// that an ID already has an account. Each text must go now or not at all,
// and holds a code more often than not: the implementation (notify, by an
// adapter in internal/app) sends it at once, stores it nowhere and never
// logs it. Identity declares it; it never imports notify.
type SMS interface {
	Send(ctx context.Context, phone, text string) error
}
