package payment

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
)

// Account is a bank account fees are paid into: an agency's collection
// account at the State Treasury or a bank, as VietQR names it.
type Account struct {
	BIN     string `json:"bin"`     // the bank's NAPAS BIN, six digits
	Number  string `json:"account"` // the account (or card) number
	Name    string `json:"name"`    // the holder's name as the bank shows it, without diacritics
	Service string `json:"service"` // QRIBFTTA (account, the default) or QRIBFTTC (card)
}

// Accounts say where each agency's fees are paid: an account of its own,
// or the default (the province's collection account).
type Accounts struct {
	Default  Account            `json:"default"`
	Agencies map[string]Account `json:"agencies"`
}

// Of returns the account agency's fees are paid into.
func (a Accounts) Of(agency string) (Account, bool) {
	if acc, ok := a.Agencies[agency]; ok {
		return acc, true
	}
	return a.Default, a.Default.Number != ""
}

// Validate checks every account makes a VietQR code.
func (a Accounts) Validate() error {
	var errs []error
	check := func(who string, acc Account) {
		q := VietQR{BIN: acc.BIN, Account: acc.Number, Service: cmpOr(acc.Service, ServiceToAccount), MerchantName: acc.Name}
		if err := q.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", who, err))
		}
		if !printableASCII(acc.Name) {
			errs = append(errs, fmt.Errorf("%s: the name must be written without diacritics", who))
		}
	}
	if a.Default.Number != "" {
		check("default", a.Default)
	}
	codes := make([]string, 0, len(a.Agencies))
	for c := range a.Agencies {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		check("agency "+c, a.Agencies[c])
	}
	if a.Default.Number == "" && len(a.Agencies) == 0 {
		errs = append(errs, errors.New("no account: give a default or one per agency"))
	}
	return errors.Join(errs...)
}

// LoadAccounts reads a JSON file of accounts:
//
//	{"default": {"bin": "970415", "account": "...", "name": "KBNN ..."},
//	 "agencies": {"AGENCY-CODE": {"bin": ..., "account": ..., "name": ...}}}
func LoadAccounts(path string) (Accounts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Accounts{}, fmt.Errorf("payment: accounts: %w", err)
	}
	var a Accounts
	if err := json.Unmarshal(b, &a); err != nil {
		return Accounts{}, fmt.Errorf("payment: accounts %s: %w", path, err)
	}
	if err := a.Validate(); err != nil {
		return Accounts{}, fmt.Errorf("payment: accounts %s: %w", path, err)
	}
	return a, nil
}

// DemoAccounts is the demo province's collection account, at a BIN no bank
// has (banks' BINs begin with 970): a bank app reads the code and refuses
// the transfer, so a demo can never send money to a real account.
func DemoAccounts() Accounts {
	return Accounts{Default: Account{BIN: "999099", Number: "0990000000099", Name: "KHO BAC TINH SONG XANH", Service: ServiceToAccount}}
}
