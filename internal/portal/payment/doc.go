// Package payment is how citizens pay the fees of the portal's
// applications. The portal starts an order for an application's fee
// (Start: the application by ID only, the agency the fee is paid to, the
// amount in dong) and shows what Checkout gives: a VietQR code for a bank
// transfer into the agency's collection account, and a link to the card and
// e-wallet gateway (a PaymentProvider; Gateway is the VNPay-shaped driver).
// The gateway's callback (IPN) settles the order; a transfer is settled by
// the bank statement, which the daily reconciliation matches to the orders
// by reference and amount, listing what does not match. A paid order has a
// receipt sealed by the agency; a refund goes back through the gateway.
// With --demo, Simulator is the bank on the other side of the gateway.
//
// Order states: pending → paid → refunding → refunded; pending → failed
// (the gateway said no) or expired (nobody paid in time). Every change is
// audited in its transaction and counted per commune (Indicators); the
// portal is told after it commits (Listener) and asks again (Status) when
// it shows the application.
//
// It must never change an order on a callback whose signature does not
// verify (checked in constant time, before anything is read), nor on one
// whose amount or currency differ from the order's; a replay (the same
// gateway transaction) changes nothing and is answered as the gateway
// expects; it never writes an unsigned callback to the audit log (anyone
// could fill it) and never logs a callback's parameters, a payer's name or
// citizen ID, or the gateway's secret. It never sends a payer back to
// another site than this one, never shows an order to anyone but its
// payer and the collecting agency's officials (whose reads go to the
// data-use log), and never imports another capability: the portal, the
// registry's people, the e-ID's posts and the trust services' seals reach
// it through the small interfaces it declares.
package payment
