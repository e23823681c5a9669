// Package payment is how citizens pay the fees of the portal's
// applications: an order for an application's fee, paid by a bank
// transfer from a VietQR code or through a card and wallet gateway, with a
// sealed receipt once paid, refunds, and the daily reconciliation of the
// bank's statements against the orders.
package payment
