// Package notify tells people things: by text message (SMS), by e-mail and
// in a web inbox at /inbox. Every capability that must reach a citizen
// does it through notify, by a consumer interface of its own adapted in
// internal/app.
//
// A message names its recipient (an account, a phone number, an e-mail
// address), a catalogue key and its arguments, rendered in the recipient's
// language (vi, en or ar), and a kind:
//
//   - a one-time code (KindCode) is sent at once, synchronously, by text
//     (or by e-mail to someone without a phone) and stored nowhere;
//   - a notice (KindNotice) lands in the account's inbox and is queued in
//     an outbox for each channel the citizen chose; a worker (Run) sends
//     the queue under per-row leases, so instances sharing the database
//     share the work, retries after 30 s, 2 min, 10 min, 1 h and 6 h, and
//     then gives up and records it in the audit log.
//
// Each citizen chooses their channels on /inbox: the inbox always, SMS
// (on when the account has a phone), e-mail (off until they give an
// address), and the language of their messages.
//
// Texts leave through an SMSDriver: the demo outbox (DemoOutbox, shown at
// /demo/sms), the log driver (LogSMS, which logs that a text would have
// gone, never the text), an HTTP gateway (HTTPGateway: the carriers'
// "brandname SMS" services, URL and body templates configured) or an SMSC
// over SMPP 3.4 (package smpp). E-mail leaves through SMTP (STARTTLS when
// offered).
//
// It must never write a one-time code to a log, the outbox or the inbox
// (the demo outbox alone shows one, and only with --demo), never log a
// message's text, a phone number (only its last two digits) or an e-mail
// address, never show one person's inbox to another, and never import
// another capability.
package notify
