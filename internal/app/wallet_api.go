package app

// mountWalletAPI mounts the agencies' issuance API, officials' issuance pages and the query for other capabilities.
func (a *App) mountWalletAPI() error { return nil }
