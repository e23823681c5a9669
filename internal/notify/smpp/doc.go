// Package smpp is an SMPP 3.4 client for sending text messages through a
// carrier's SMSC: the PDU encoder and decoder (pdu.go), the choice of
// alphabet and the split of long texts into concatenated parts (text.go),
// and a transmitter that binds, submits, keeps the link alive and binds
// again after the connection drops (client.go).
//
// Texts that fit the GSM 03.38 alphabet go in it (data_coding 0, one
// septet per octet as SMPP carries it), or in Latin-1 (data_coding 3) when
// the SMSC's default alphabet is that; anything else, Vietnamese with its
// diacritics first of all, goes in UCS-2 (data_coding 8, UTF-16 big
// endian). A text longer than one message is split into parts that carry a
// concatenation header (UDH IEI 0x00, 8-bit reference: 153 GSM septets,
// 134 Latin-1 octets or 67 UCS-2 units a part), never inside a GSM escape
// or a surrogate pair.
//
// It is a protocol package: it imports no capability, serves no page and
// keeps nothing. It must never log a message's text or a destination
// number; errors name the command and the SMSC's status, never the text.
package smpp
