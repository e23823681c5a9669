package smpp

import "fmt"

// Status is a command_status (SMPP 3.4 §5.1.3).
type Status uint32

// The statuses this client names; an SMSC may answer with others
// (vendor-specific ones from 0x400).
const (
	StatusOK              Status = 0x00000000 // ESME_ROK
	StatusInvMsgLen       Status = 0x00000001 // ESME_RINVMSGLEN
	StatusInvCmdLen       Status = 0x00000002 // ESME_RINVCMDLEN
	StatusInvCmdID        Status = 0x00000003 // ESME_RINVCMDID
	StatusInvBndSts       Status = 0x00000004 // ESME_RINVBNDSTS: not bound for that
	StatusAlyBnd          Status = 0x00000005 // ESME_RALYBND
	StatusSysErr          Status = 0x00000008 // ESME_RSYSERR
	StatusInvSrcAdr       Status = 0x0000000A // ESME_RINVSRCADR
	StatusInvDstAdr       Status = 0x0000000B // ESME_RINVDSTADR
	StatusBindFail        Status = 0x0000000D // ESME_RBINDFAIL
	StatusInvPaswd        Status = 0x0000000E // ESME_RINVPASWD
	StatusInvSysID        Status = 0x0000000F // ESME_RINVSYSID
	StatusMsgQFul         Status = 0x00000014 // ESME_RMSGQFUL
	StatusInvESMClass     Status = 0x00000043 // ESME_RINVESMCLASS
	StatusSubmitFail      Status = 0x00000045 // ESME_RSUBMITFAIL
	StatusInvSrcTON       Status = 0x00000048 // ESME_RINVSRCTON
	StatusInvDstTON       Status = 0x00000050 // ESME_RINVDSTTON
	StatusThrottled       Status = 0x00000058 // ESME_RTHROTTLED
	StatusInvOptParStream Status = 0x000000C0 // ESME_RINVOPTPARSTREAM
	StatusXTAppn          Status = 0x00000064 // ESME_RX_T_APPN: temporary error at the SMSC's application
	StatusXPAppn          Status = 0x00000065 // ESME_RX_P_APPN: permanent error at the SMSC's application
	StatusXRAppn          Status = 0x00000066 // ESME_RX_R_APPN: the SMSC's application refused the message
	StatusUnknownErr      Status = 0x000000FF // ESME_RUNKNOWNERR
)

var statusNames = map[Status]string{
	StatusOK: "ESME_ROK", StatusInvMsgLen: "ESME_RINVMSGLEN", StatusInvCmdLen: "ESME_RINVCMDLEN",
	StatusInvCmdID: "ESME_RINVCMDID", StatusInvBndSts: "ESME_RINVBNDSTS", StatusAlyBnd: "ESME_RALYBND",
	StatusSysErr: "ESME_RSYSERR", StatusInvSrcAdr: "ESME_RINVSRCADR", StatusInvDstAdr: "ESME_RINVDSTADR",
	StatusBindFail: "ESME_RBINDFAIL", StatusInvPaswd: "ESME_RINVPASWD", StatusInvSysID: "ESME_RINVSYSID",
	StatusMsgQFul: "ESME_RMSGQFUL", StatusInvESMClass: "ESME_RINVESMCLASS", StatusSubmitFail: "ESME_RSUBMITFAIL",
	StatusInvSrcTON: "ESME_RINVSRCTON", StatusInvDstTON: "ESME_RINVDSTTON", StatusThrottled: "ESME_RTHROTTLED",
	StatusInvOptParStream: "ESME_RINVOPTPARSTREAM", StatusXTAppn: "ESME_RX_T_APPN", StatusXPAppn: "ESME_RX_P_APPN",
	StatusXRAppn: "ESME_RX_R_APPN", StatusUnknownErr: "ESME_RUNKNOWNERR",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("%s (%#x)", n, uint32(s))
	}
	return fmt.Sprintf("status %#x", uint32(s))
}

// Temporary says whether the same message may succeed later: the SMSC was
// busy, throttled us or failed inside; anything about the message, the
// addresses or the account will fail again.
func (s Status) Temporary() bool {
	switch s {
	case StatusSysErr, StatusMsgQFul, StatusThrottled, StatusXTAppn, StatusSubmitFail, StatusUnknownErr, StatusInvBndSts:
		return true
	}
	return false
}

// StatusError is a refusal by the SMSC: a response with a non-zero
// status, or a generic_nack.
type StatusError struct {
	Command uint32 // the request refused
	Status  Status
	Nack    bool // the SMSC answered with generic_nack
}

func (e *StatusError) Error() string {
	how := "refused"
	if e.Nack {
		how = "rejected with generic_nack"
	}
	return fmt.Sprintf("smpp: %s %s: %s", CommandName(e.Command), how, e.Status)
}

// Permanent says that sending the same message again is useless.
func (e *StatusError) Permanent() bool { return !e.Status.Temporary() }
