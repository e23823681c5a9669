package identity

import (
	"context"
	"encoding/json"
	"net/netip"
	"sort"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Officer is an official acting in one of their posts.
type Officer struct {
	AccountID string
	CitizenID string
	Agency    registry.Agency
	Role      registry.Role
	// ACR is the assurance of the login the officer acts in, as the
	// handler found it in the session. Enrolment and every other act on
	// someone's account need kernel.ACRLevel2; Posts and Post leave it empty.
	ACR string
}

// Area is the administrative unit an officer's post covers: the agency's
// unit and everything inside it.
func (o Officer) Area() string { return o.Agency.UnitCode }

// Actor is the officer as audit records name them: an official acting for
// their agency.
func (o Officer) Actor() kernel.Actor {
	return kernel.Actor{Kind: kernel.ActorOfficial, ID: o.AccountID, OnBehalfOf: "agency:" + o.Agency.Code}
}

func errOfficerLevel2() error { return kernel.E(kernel.Forbidden, "error.identity.officer_level2") }

// mayActOnAccounts checks that o may act on people's accounts: a post that
// enrols, and a level-2 login.
func (o Officer) mayActOnAccounts() error {
	if !o.CanEnrol() {
		return kernel.E(kernel.Forbidden, "error.identity.not_officer")
	}
	if !kernel.AtLeastLevel2(o.ACR) {
		return errOfficerLevel2()
	}
	return nil
}

// CanEnrol reports whether the post may verify identities in person:
// police and support points (people's committees, service centres).
func (o Officer) CanEnrol() bool {
	switch o.Agency.Kind {
	case registry.Police:
		return o.Role == registry.PoliceOfficer || o.Role == registry.Director
	case registry.PeopleCommittee, registry.ServiceCentre:
		return o.Role == registry.OneStopOfficer
	}
	return false
}

// Posts returns the official posts of an account's holder, from the
// registry of officials. An account without posts gets an empty list.
func (s *Service) Posts(ctx context.Context, accountID string) ([]Officer, error) {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	offs, err := s.reg.OfficialsOf(ctx, a.CitizenID)
	if err != nil {
		return nil, err
	}
	var out []Officer
	for _, o := range offs {
		ag, err := s.reg.Agency(ctx, o.AgencyCode)
		if err != nil {
			return nil, err
		}
		out = append(out, Officer{AccountID: a.ID, CitizenID: a.CitizenID, Agency: ag, Role: o.Role})
	}
	return out, nil
}

// Post returns the officer's post in an agency, or a Forbidden error.
func (s *Service) Post(ctx context.Context, accountID, agencyCode string) (Officer, error) {
	posts, err := s.Posts(ctx, accountID)
	if err != nil {
		return Officer{}, err
	}
	var found *Officer
	for i, p := range posts {
		if p.Agency.Code == agencyCode && (found == nil || p.CanEnrol()) {
			found = &posts[i]
		}
	}
	if found == nil {
		return Officer{}, kernel.E(kernel.Forbidden, "error.identity.not_officer")
	}
	return *found, nil
}

// LookUp returns a person of the registry for an officer, with their account
// if they have one. A person outside the officer's area, or an officer not
// in a level-2 login, is Forbidden.
func (s *Service) LookUp(ctx context.Context, o Officer, citizenID string) (registry.Person, *Account, error) {
	if err := o.mayActOnAccounts(); err != nil {
		return registry.Person{}, nil, err
	}
	p, err := s.reg.Person(ctx, strings.TrimSpace(citizenID))
	if err != nil {
		return p, nil, err
	}
	in, err := s.reg.Within(ctx, p.UnitCode, o.Area())
	if err != nil {
		return p, nil, err
	}
	if !in {
		return registry.Person{}, nil, kernel.E(kernel.Forbidden, "error.identity.outside_area")
	}
	if err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := appendAuditPurpose(ctx, tx, "registry.person.read", "person", p.CitizenID, "identity.enrolment"); err != nil {
			return err
		}
		if s.uses == nil {
			return nil
		}
		return s.uses.Record(ctx, tx, kernel.DataUse{Subject: p.CitizenID, Reader: o.Actor(), Agency: o.Agency.Code,
			ReaderName: o.Agency.Name, Channel: "desk", Service: "population.person", Fields: lookUpFields,
			Purpose: "identity_verification", CaseRef: "e-ID"})
	}); err != nil {
		return p, nil, err
	}
	a, err := s.AccountByCitizen(ctx, p.CitizenID)
	if err == nil {
		return p, &a, nil
	}
	if kernel.ErrorCode(err) != kernel.NotFound {
		return p, nil, err
	}
	return p, nil, nil
}

// lookUpFields are the registry's fields the enrolment desk shows an officer.
var lookUpFields = []string{"citizen_id", "full_name", "birth_date", "sex", "unit"}

// Checks are the results of the in-person identity checks, as attested by
// the devices and the officer.
type Checks struct {
	ChipRead      bool   `json:"chip_read"`       // the chip of the ID card was read and its signature verified
	ChipSerial    string `json:"chip_serial"`     // document number read from the chip
	FaceMatch     bool   `json:"face_match"`      // live face matched the chip photo
	Fingerprint   string `json:"fingerprint"`     // "match", "no_match" or "not_taken"
	OfficerAttest bool   `json:"officer_attests"` // the officer saw the person and the card
}

// Enrolment is an in-person verification that issues a level-2 account.
type Enrolment struct {
	CitizenID string
	Checks    Checks
	Contact   string // ContactOwn, ContactRelative or ContactLetter
	Phone     string // the phone the code goes to (own or relative's)
	// RelativeCitizenID names the relative whose phone is used.
	RelativeCitizenID string
	// Reset is for a holder who lost their password or phone: an active
	// level-2 account gets a new activation code, and activating it sets a
	// new password and removes the authenticator app, the recovery codes and
	// the passkeys.
	Reset bool
}

// Issued is the outcome of an enrolment. Code is set only for a printed
// letter: it is shown once, to be printed and handed over.
type Issued struct {
	EnrolmentID string
	Account     Account
	Person      registry.Person
	Code        string
	MaskedPhone string
}

// Enrol records an in-person verification and issues a level-2 account:
// a new pending account, or an upgrade of an existing one. The holder
// activates it with the code sent to the chosen phone or printed.
// Enrolment needs an officer in a level-2 login.
func (s *Service) Enrol(ctx context.Context, o Officer, e Enrolment) (Issued, error) {
	if err := o.mayActOnAccounts(); err != nil {
		return Issued{}, err
	}
	p, existing, err := s.LookUp(ctx, o, e.CitizenID)
	if err != nil {
		return Issued{}, err
	}
	c := e.Checks
	if !c.ChipRead || !c.FaceMatch || !c.OfficerAttest || c.Fingerprint == "no_match" {
		return Issued{}, kernel.E(kernel.Invalid, "error.identity.checks_failed")
	}
	switch c.Fingerprint {
	case "match", "not_taken":
	default:
		return Issued{}, kernel.E(kernel.Invalid, "error.identity.checks_failed")
	}
	c.ChipSerial = strings.TrimSpace(c.ChipSerial)
	if len(c.ChipSerial) > 64 {
		return Issued{}, kernel.E(kernel.Invalid, "error.identity.checks_failed")
	}
	phone := ""
	switch e.Contact {
	case ContactOwn:
		phone = e.Phone
		if phone == "" {
			phone = p.Phone
		}
	case ContactRelative:
		phone = e.Phone
		if _, err := registry.ParseCitizenID(strings.TrimSpace(e.RelativeCitizenID)); err != nil {
			return Issued{}, kernel.E(kernel.Invalid, "error.identity.relative_needed")
		}
	case ContactLetter:
	default:
		return Issued{}, kernel.E(kernel.Invalid, "error.identity.bad_contact")
	}
	if e.Contact != ContactLetter {
		if phone = normalizePhone(phone); phone == "" {
			return Issued{}, kernel.E(kernel.Invalid, "error.identity.bad_phone")
		}
	}
	if existing != nil && existing.Level == 2 && existing.Status == StatusActive && !e.Reset {
		return Issued{}, kernel.E(kernel.Conflict, "error.identity.already_level2")
	}
	if existing != nil && existing.Status == StatusDisabled {
		return Issued{}, kernel.E(kernel.Conflict, "error.identity.account_disabled")
	}
	checks, err := json.Marshal(map[string]any{"checks": c, "relative": strings.TrimSpace(e.RelativeCitizenID), "reset": e.Reset})
	if err != nil {
		return Issued{}, kernel.Wrap(err, "identity: encode checks")
	}
	code := randomCode(3)
	out := Issued{EnrolmentID: kernel.NewID(), Person: p}
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		var a Account
		if existing == nil {
			a = Account{ID: kernel.NewID(), CitizenID: p.CitizenID, UnitCode: p.UnitCode, Level: 2, Status: StatusPending,
				Phone: phone, Contact: e.Contact, CreatedAt: tx.Now}
			if err := insertAccount(ctx, tx, &a); err != nil {
				return err
			}
		} else {
			a = *existing
			if a.Status == StatusPending { // enrolled again before activating: the new contact wins
				if err := updateAccountContact(ctx, tx, a.ID, phone, e.Contact); err != nil {
					return err
				}
			}
		}
		// One live activation code per account.
		if err := deleteAccountCodes(ctx, tx, a.ID, purposeActivate); err != nil {
			return err
		}
		id := hashSecret("flow", activationToken(a.CitizenID))
		if _, err := deleteCode(ctx, tx, id); err != nil {
			return err
		}
		// matched = 2 marks a reset: activation then replaces the credentials.
		matched := 1
		if e.Reset && a.Status == StatusActive {
			matched = 2
		}
		if err := insertCode(ctx, tx, newCode{idHash: id, purpose: purposeActivate, citizenID: a.CitizenID, accountID: a.ID,
			phone: phone, matched: matched, codeHash: hashSecret(id, normalizeCode(code)), expires: tx.Now.Add(activateCodeTTL)}); err != nil {
			return err
		}
		if err := insertEnrolment(ctx, tx, enrolment{id: out.EnrolmentID, accountID: a.ID, unitCode: p.UnitCode, agencyCode: o.Agency.Code,
			officerAccountID: o.AccountID, checks: string(checks), contact: e.Contact}); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, "account.enrolled", "", map[string]string{"agency": o.Agency.Name}); err != nil {
			return err
		}
		out.Account = a
		return appendAudit(ctx, tx, "identity.enrol", "account", a.ID, map[string]any{
			"agency": o.Agency.Code, "contact": e.Contact, "enrolment": out.EnrolmentID})
	})
	if err != nil {
		return Issued{}, err
	}
	if e.Contact == ContactLetter {
		out.Code = code
	} else {
		out.MaskedPhone = MaskPhone(phone)
		s.send(ctx, phone, "civitas: Mã kích hoạt tài khoản định danh mức 2 của "+p.FullName+": "+code+" (hiệu lực 30 ngày). / Level-2 e-ID activation code: "+code+".")
	}
	return out, nil
}

// SetStatus disables an account (a stolen phone, a death, a fraud report)
// or enables it again, for an officer of the holder's area in a level-2
// login.
func (s *Service) SetStatus(ctx context.Context, o Officer, citizenID, status string) error {
	if err := o.mayActOnAccounts(); err != nil {
		return err
	}
	if status != StatusActive && status != StatusDisabled {
		return kernel.E(kernel.Invalid, "error.invalid")
	}
	_, acc, err := s.LookUp(ctx, o, citizenID)
	if err != nil {
		return err
	}
	if acc == nil || acc.Status == StatusPending {
		return kernel.E(kernel.NotFound, "error.identity.account_not_found")
	}
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := updateAccountStatus(ctx, tx, acc.ID, status); err != nil {
			return err
		}
		if err := s.record(ctx, tx, acc.ID, "account."+status, "", map[string]string{"agency": o.Agency.Name}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.account."+status, "account", acc.ID, map[string]any{"agency": o.Agency.Code})
	})
}

// Activation is what the holder types to activate a level-2 account.
type Activation struct {
	CitizenID string
	Code      string
	Password  string // required when the account has none; otherwise optional
	// Client is the address the activation comes from; zero when unknown.
	Client netip.Addr
}

// Activate turns an enrolment into a working level-2 account.
func (s *Service) Activate(ctx context.Context, act Activation) (Account, error) {
	act.CitizenID = strings.TrimSpace(act.CitizenID)
	if _, err := registry.ParseCitizenID(act.CitizenID); err != nil {
		return Account{}, errCodeWrong()
	}
	// Wrong codes lock out the client that types them, for this account
	// and, past its budget, for every account; never the holder elsewhere.
	c := clientName(act.Client)
	keys := guessKeys{client: act.Client, pair: "activate:" + act.CitizenID + "|" + c, budget: "client:" + c}
	if _, err := s.allowGuess(ctx, keys); err != nil {
		return Account{}, err
	}
	if act.Password != "" {
		if err := CheckPasswordPolicy(act.Password); err != nil {
			return Account{}, err
		}
	}
	// The flow is keyed by the citizen ID: the letter carries only the code.
	f, err := s.useCode(ctx, activationToken(act.CitizenID), purposeActivate, act.Code)
	if kernel.ErrorCode(err) == kernel.Invalid {
		return Account{}, s.failGuess(ctx, keys, nil, err)
	}
	if err != nil {
		return Account{}, err
	}
	a, err := s.Account(ctx, f.accountID)
	if err != nil {
		return Account{}, err
	}
	if (!a.HasPassword || f.reset) && act.Password == "" {
		return Account{}, kernel.E(kernel.Invalid, "error.identity.password_needed")
	}
	hash := ""
	if act.Password != "" {
		if hash, err = s.hashPassword(ctx, act.Password); err != nil {
			return Account{}, err
		}
	}
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		done, err := deleteCode(ctx, tx, f.idHash)
		if err != nil {
			return err
		}
		if !done {
			return errCodeWrong()
		}
		if hash == "" {
			hash = a.passwordHash
		}
		if err := updateAccountLevel2(ctx, tx, a.ID, hash); err != nil {
			return err
		}
		if err := updateEnrolmentsActivated(ctx, tx, a.ID); err != nil {
			return err
		}
		if f.reset { // lost phone or password: the old second factor goes too
			if err := deleteAccountTOTP(ctx, tx, a.ID); err != nil {
				return err
			}
			if err := deleteRecoveryCodes(ctx, tx, a.ID); err != nil {
				return err
			}
			// The lost phone may hold a passkey.
			if err := deleteAccountPasskeys(ctx, tx, a.ID); err != nil {
				return err
			}
		}
		if err := s.succeedGuess(ctx, tx, keys); err != nil {
			return err
		}
		ctx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: a.ID})
		if err := s.record(ctx, tx, a.ID, "account.activated", "", map[string]string{"level": "2"}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.activate", "account", a.ID, map[string]any{"level": 2})
	})
	if err != nil {
		return Account{}, err
	}
	return s.Account(ctx, a.ID)
}

// activationToken is the stand-in for a flow token when the flow is found
// by citizen ID: useCode hashes it the same way to "activate" + ID.
func activationToken(citizenID string) string { return "\x00activate:" + citizenID }

// UnitFigures are a commune's level-2 accounts issued (enrolled in person)
// and activated, for the adoption dashboards.
type UnitFigures struct {
	UnitCode  string
	Issued    int
	Activated int
	Level1    int // accounts opened online
}

// Figures returns issued vs activated per commune inside area ("" = all).
func (s *Service) Figures(ctx context.Context, area string) ([]UnitFigures, error) {
	var issued []UnitFigures
	var level1 map[string]int
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		if issued, err = findEnrolmentFigures(ctx, tx); err != nil {
			return err
		}
		level1, err = countActiveLevel1(ctx, tx)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "identity: figures")
	}
	byUnit := map[string]*UnitFigures{}
	var order []string
	for i := range issued {
		byUnit[issued[i].UnitCode] = &issued[i]
		order = append(order, issued[i].UnitCode)
	}
	for unit, n := range level1 {
		if byUnit[unit] == nil {
			byUnit[unit] = &UnitFigures{UnitCode: unit}
			order = append(order, unit)
		}
		byUnit[unit].Level1 = n
	}
	sort.Strings(order)
	var out []UnitFigures
	for _, u := range order {
		if area != "" {
			in, err := s.reg.Within(ctx, u, area)
			if err != nil {
				return nil, err
			}
			if !in {
				continue
			}
		}
		out = append(out, *byUnit[u])
	}
	return out, nil
}
