package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/demo"
	"civitas/internal/kernel"
)

// demoPeopleFlags are the flags of `civitas demo people`.
type demoPeopleFlags struct {
	role  string
	json  bool
	limit int
}

// demoPeople lists demo people for a role, to try the platform as them:
// `civitas demo people --data DIR --role citizen|guardian|officer|official [--json]`.
func demoPeople(ctx context.Context, c config.Config, f demoPeopleFlags, stdout io.Writer) error {
	if !validDemoRole(f.role) {
		return usageError("--role must be one of " + strings.Join(demo.Roles, ", "))
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	var people []demo.DemoPerson
	err = d.View(ctx, func(tx *db.Tx) error {
		people, err = demo.PeopleByRole(ctx, tx, f.role, kernel.SystemClock{}.Now().In(kernel.Zone()), f.limit)
		return err
	})
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		for _, p := range people {
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	switch f.role {
	case "guardian":
		fmt.Fprintln(tw, "CITIZEN ID\tNAME\tBORN\tPHONE\tACCOUNT\tCHILD\tCHILD'S NAME")
	case "officer", "official":
		fmt.Fprintln(tw, "CITIZEN ID\tNAME\tBORN\tPHONE\tACCOUNT\tPOST\tAGENCY")
	default:
		fmt.Fprintln(tw, "CITIZEN ID\tNAME\tBORN\tPHONE\tACCOUNT")
	}
	for _, p := range people {
		acct := "no"
		if p.HasAccount {
			acct = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s", p.CitizenID, p.FullName, p.BirthDate, p.Phone, acct)
		switch f.role {
		case "guardian":
			fmt.Fprintf(tw, "\t%s\t%s", p.ChildID, p.ChildName)
		case "officer", "official":
			fmt.Fprintf(tw, "\t%s\t%s (%s)", p.Role, p.AgencyName, p.AgencyCode)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func validDemoRole(role string) bool {
	for _, r := range demo.Roles {
		if r == role {
			return true
		}
	}
	return false
}
