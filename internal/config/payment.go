package config

import "flag"

// Payment configures the payments of fees: where each agency is paid
// (a JSON file of accounts for VietQR transfers) and the card and e-wallet
// gateway. Its secret comes best from CIVITAS_PAYMENT_SECRET_FILE.
type Payment struct {
	// Accounts names the JSON file of the agencies' collection accounts;
	// empty: DATA/payments/accounts.json when it exists (with --demo, the
	// demo province's account when it does not).
	Accounts string
	// Gateway is "vnpay" (a VNPay-shaped gateway) or empty: none, VietQR
	// transfers only; with --demo, the demo bank at /demo/pay.
	Gateway    string
	GatewayURL string // the gateway's payment page
	GatewayAPI string // the gateway's API (refunds)
	Merchant   string // the merchant's terminal code at the gateway
	Secret     string // the merchant's hash secret
}

// BindPayment registers the payment flags.
func (c *Config) BindPayment(fs *flag.FlagSet) {
	p := &c.Payment
	fs.StringVar(&p.Accounts, "payment-accounts", p.Accounts, "JSON `file` of the agencies' collection accounts for VietQR (default DATA/payments/accounts.json)")
	fs.StringVar(&p.Gateway, "payment-gateway", p.Gateway, "card and e-wallet `gateway`: vnpay, or none (with --demo: the demo bank)")
	fs.StringVar(&p.GatewayURL, "payment-gateway-url", p.GatewayURL, "the gateway's payment page `URL`")
	fs.StringVar(&p.GatewayAPI, "payment-gateway-api", p.GatewayAPI, "the gateway's API `URL` (refunds)")
	fs.StringVar(&p.Merchant, "payment-merchant", p.Merchant, "the merchant's terminal `code` at the gateway")
	fs.StringVar(&p.Secret, "payment-secret", p.Secret, "the merchant's hash `secret`; prefer CIVITAS_PAYMENT_SECRET_FILE")
}
