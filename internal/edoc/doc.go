// Package edoc is the officials' document exchange: outgoing documents
// drafted, signed off by the agency's leader (with the official credential
// in their capacity, from a tablet, one at a time or in a batch behind one
// second-factor approval), registered with a number and symbol in the form
// of Decree 30/2020/NĐ-CP and sent in edXML-style envelopes sealed by the
// sending agency; incoming documents registered, assigned and handled,
// each step answered to the sender with a QCVN 102 status code; and the
// waiting time of every step, for the supervision of the leader above.
//
// It owns the tables edoc_*: documents, their files and versions, the
// registers' sequences, the steps, envelopes, receipts, status messages,
// the delivery outbox and the refusals.
//
// It must never: import another capability (the directory of agencies,
// the seals, the leaders' signing and the peers are interfaces the app
// adapts); sign anything but through Signer after the leader's approval;
// number a document outside the transaction that registers it; take in an
// envelope whose seal, installation or freshness does not check out
// without logging the refusal; show a document to anyone outside its
// agency, or a confidential one to anyone not on it.
package edoc
