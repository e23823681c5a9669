package portal

import (
	"cmp"
	"context"
	"slices"
	"sort"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// An effect is the registry change an approved part makes, in the
// decision's transaction, through the registry's write functions. A
// procedure names its effect; the effects are the only code a procedure
// may need, and a new procedure reuses them.

type effectInput struct {
	reg    *registry.Service // reads of the registries (writes go through tx)
	p      Procedure
	part   Part
	app    *Application
	fields map[string]string // the decision's fields
	agency registry.Agency   // the deciding agency
}

// value is a data value of the application or a decision field.
func (in effectInput) value(key string) string {
	if v := in.fields[key]; v != "" {
		return v
	}
	return in.app.Value(key)
}

// person is whom the part is about: its party's citizen ID, the
// beneficiary a part before registered, or the subject.
func (in effectInput) person() string {
	if in.part.Party != "" && in.part.Party != PartySubject {
		return in.app.Value(in.part.Party + ".citizen_id")
	}
	if in.app.Beneficiary != "" {
		return in.app.Beneficiary
	}
	return in.app.Subject.ID
}

type effectFunc func(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error)

var effects = map[string]effectFunc{
	"civil_status.birth":          birthEffect,
	"civil_status.death":          deathEffect,
	"civil_status.marriage":       marriageEffect,
	"civil_status.marital_status": maritalStatusEffect,
	"residence.permanent":         permanentResidenceEffect,
	"residence.remove_permanent":  removeResidenceEffect,
	"residence.temporary":         temporaryResidenceEffect,
	"residence.absence":           absenceEffect,
	"residence.confirm":           confirmResidenceEffect,
	"insurance.child_card":        childCardEffect,
	"vehicle.register":            vehicleEffect,
	"business.household":          householdBusinessEffect,
	"land.transfer":               landTransferEffect,
}

// effectsMakingBeneficiary register a new person: the results after them
// may go to that person's wallet.
var effectsMakingBeneficiary = []string{"civil_status.birth"}

func knownEffect(name string) bool { _, ok := effects[name]; return ok }

func effectNames() []string {
	out := make([]string, 0, len(effects))
	for k := range effects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// applyEffect makes the part's registry change and returns its outputs and
// the person it registered, if any.
func (s *Service) applyEffect(ctx context.Context, tx *db.Tx, in effectInput) (map[string]any, string, error) {
	day := today(tx.Now).String()
	if in.part.Effect == "" {
		return map[string]any{}, "", nil
	}
	fn := effects[in.part.Effect]
	if fn == nil {
		return nil, "", kernel.E(kernel.Invalid, "portal.error.no_effect")
	}
	out, created, err := fn(ctx, tx, in, day)
	if out == nil {
		out = map[string]any{}
	}
	return out, created, err
}

func birthEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	nb := registry.NewBirth{FullName: in.value("child.full_name"), BirthDate: in.value("child.birth_date"), Sex: registry.Sex(in.value("child.sex")),
		PlaceOfBirth: in.value("child.place_of_birth"), HouseholdID: in.value("household_id"), AgencyCode: in.agency.Code}
	parent, other := in.app.Subject.ID, in.value("other_parent.citizen_id")
	if in.value("sex") == string(registry.Male) {
		nb.FatherCitizenID, nb.MotherCitizenID = parent, other
	} else {
		nb.MotherCitizenID, nb.FatherCitizenID = parent, other
	}
	b, err := registry.RegisterBirth(ctx, tx, nb)
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"child_citizen_id": b.CitizenID, "registration_number": b.RegistrationNumber, "registered_on": b.RegisteredOn}, b.CitizenID, nil
}

func deathEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	d, err := registry.RegisterDeath(ctx, tx, registry.Death{CitizenID: in.person(), DiedOn: in.value(in.part.Party + ".died_on"),
		PlaceOfDeath: in.value(in.part.Party + ".place_of_death"), AgencyCode: in.agency.Code})
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"registration_number": d.RegistrationNumber, "registered_on": d.RegisteredOn}, "", nil
}

func marriageEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	me, spouse := in.app.Subject.ID, in.value("spouse.citizen_id")
	husband, wife := me, spouse
	if in.value("sex") == string(registry.Female) {
		husband, wife = spouse, me
	}
	m, err := registry.RegisterMarriage(ctx, tx, husband, wife, in.agency.Code)
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"registration_number": m.RegistrationNumber, "married_on": m.MarriedOn, "husband_name": m.HusbandName,
		"husband_citizen_id": m.HusbandCitizenID, "wife_name": m.WifeName, "wife_citizen_id": m.WifeCitizenID}, "", nil
}

// maritalStatusNames are the statuses as a confirmation states them.
var maritalStatusNames = map[registry.MaritalStatus]string{
	registry.Single: "Chưa đăng ký kết hôn với ai", registry.Married: "Đang có vợ/chồng",
	registry.Widowed: "Vợ/chồng đã chết, hiện chưa đăng ký kết hôn với ai", registry.Divorced: "Đã ly hôn, hiện chưa đăng ký kết hôn với ai",
}

func maritalStatusEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	// A status is stated as the registry holds it now, not as pre-filled.
	st, _, err := in.reg.MaritalStatusOf(ctx, in.person())
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"marital_status": maritalStatusNames[st]}, "", nil
}

func permanentResidenceEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	person := in.person()
	household := cmp.Or(in.value("destination.household_id"), in.value("household_id"))
	has, err := registry.HasPermanentResidenceIn(ctx, tx, person, household)
	if err != nil {
		return nil, "", err
	}
	if has { // a newborn registered in the household at birth
		return map[string]any{"residence_status": "Đã đăng ký thường trú"}, "", nil
	}
	rel := registry.Relation(cmp.Or(in.value("relation"), string(registry.Child)))
	if _, err := registry.RegisterPermanentResidence(ctx, tx, registry.Residence{CitizenID: person, HouseholdID: household, Relation: rel, From: day}); err != nil {
		return nil, "", err
	}
	return map[string]any{"residence_status": "Đã đăng ký thường trú"}, "", nil
}

func removeResidenceEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	person := in.person()
	if _, err := registry.EndPermanentResidence(ctx, tx, person, day); err != nil {
		return nil, "", err
	}
	return map[string]any{"residence_status": "Đã xóa đăng ký thường trú"}, "", nil
}

func temporaryResidenceEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	r, err := registry.RegisterTemporaryResidence(ctx, tx, registry.Residence{CitizenID: in.person(), Address: in.value("stay_address"),
		UnitCode: in.app.Unit, From: in.value("from"), Until: in.value("until")})
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"residence_status": "Đã đăng ký tạm trú", "from": r.From, "until": r.Until}, "", nil
}

func absenceEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	return map[string]any{"residence_status": "Tạm vắng từ " + in.value("from") + " đến " + in.value("until")}, "", nil
}

func confirmResidenceEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	if _, err := in.reg.CurrentResidence(ctx, in.person(), registry.Permanent); kernel.ErrorCode(err) == kernel.NotFound {
		return nil, "", kernel.E(kernel.Conflict, "portal.error.no_residence")
	} else if err != nil {
		return nil, "", err
	}
	return map[string]any{"residence_status": "Đang thường trú"}, "", nil
}

func childCardEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	c, err := registry.IssueChildInsuranceCard(ctx, tx, in.person(), in.value("hospital"), day)
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"card_number": c.CardNumber, "valid_to": c.ValidTo}, "", nil
}

func vehicleEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	v, err := registry.RegisterVehicle(ctx, tx, registry.Vehicle{Plate: in.value("plate"), OwnerCitizenID: in.person(), Make: in.value("make"),
		Model: in.value("model"), Colour: in.value("colour"), RegisteredOn: day, FrameNumber: in.value("frame_number"), EngineNumber: in.value("engine_number")})
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"plate": v.Plate, "registered_on": v.RegisteredOn}, "", nil
}

func householdBusinessEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	district := in.agency.UnitCode
	if len(district) != 3 {
		u, err := in.reg.Unit(ctx, in.app.Unit)
		if err != nil {
			return nil, "", err
		}
		district = u.ParentCode
	}
	n, err := registry.NextHouseholdRegNumber(ctx, tx, district)
	if err != nil {
		return nil, "", err
	}
	h, err := registry.RegisterHouseholdBusiness(ctx, tx, registry.HouseholdBusiness{RegNumber: n, Name: in.value("business_name"),
		OwnerCitizenID: in.person(), UnitCode: in.app.Unit, Address: in.value("business_address"), Activity: in.value("activity"),
		RegisteredOn: day, AgencyCode: in.agency.Code, Status: registry.Active})
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"reg_number": h.RegNumber, "registered_on": h.RegisteredOn}, "", nil
}

func landTransferEffect(ctx context.Context, tx *db.Tx, in effectInput, day string) (map[string]any, string, error) {
	buyer := in.value("buyer.citizen_id")
	if buyer == "" || !slices.Contains(in.p.Parties(), "buyer") {
		return nil, "", kernel.E(kernel.Invalid, "portal.error.missing", "buyer.citizen_id")
	}
	number, err := registry.NextLandCertificateNumber(ctx, tx, "DA")
	if err != nil {
		return nil, "", err
	}
	err = registry.TransferParcel(ctx, tx, in.value("parcel_id"), []registry.LandOwner{{Kind: registry.OwnerPerson, OwnerID: buyer}},
		registry.LandCertificate{Number: number, IssuedOn: day, AgencyCode: in.agency.Code})
	if err != nil {
		return nil, "", err
	}
	return map[string]any{"certificate_number": number, "document_number": number}, "", nil
}
