package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"civitas/internal/app"
	"civitas/internal/audit"
	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/registry"
)

// openDB opens and migrates the database named by c, for operator commands
// that may run beside a serving instance.
func openDB(ctx context.Context, c config.Config) (*db.DB, error) {
	d, err := db.Open(ctx, db.Options{DSN: c.DB, DataDir: c.DataDir})
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func demoCommand() command {
	var persons int
	var seed int64
	var province string
	var people demoPeopleFlags
	return command{
		name: "demo",
		usage: "civitas demo [--data DIR] [--db DSN] --persons N [--seed S] [--province 099|098|097]\n" +
			"       civitas demo people [--data DIR] [--db DSN] --role citizen|guardian|officer|official [--limit N] [--json]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.IntVar(&persons, "persons", 10000, "`number` of persons in the demo province (1000 to 3000000)")
			fs.Int64Var(&seed, "seed", 1, "`seed`: the same seed gives the same province")
			fs.StringVar(&province, "province", demo.ProvinceCode, "`code` of the demo province: "+strings.Join(demo.ProvinceCodes(), ", "))
			fs.StringVar(&people.role, "role", "", "people: the `role` to pick demo people for: "+strings.Join(demo.Roles, ", "))
			fs.BoolVar(&people.json, "json", false, "people: one JSON object a line")
			fs.IntVar(&people.limit, "limit", 10, "people: at most `N` people")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, stderr io.Writer) error {
			if len(args) > 0 {
				if len(args) != 1 || args[0] != "people" {
					return usageError("the only subcommand of demo is people")
				}
				return demoPeople(ctx, c, people, stdout)
			}
			if persons < 1 || persons > 3_000_000 {
				return usageError("--persons must be between 1 and 3000000")
			}
			if _, err := demo.LookupProvince(province); err != nil {
				return usageError("--province must be one of " + strings.Join(demo.ProvinceCodes(), ", "))
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			st, err := app.LoadDemo(ctx, d, kernel.SystemClock{}, demo.Options{Persons: persons, Seed: seed, Province: province, Progress: stderr})
			if err != nil {
				return err
			}
			secs := st.Duration.Seconds()
			fmt.Fprintf(stdout, "loaded %d persons in %d households, %d units, %d agencies, %d officials in %.1f s (%.0f persons/s)\n",
				st.Persons, st.Households, st.Units, st.Agencies, st.Officials, secs, float64(st.Persons)/max(secs, 1e-9))
			fmt.Fprintf(stdout, "with %d residential areas, %d residences, %d births, %d deaths, %d marriages, %d land parcels (%d certificates), "+
				"%d health-insurance cards, %d vehicles, %d enterprises, %d household businesses, %d schools, %d classes, %d pupils\n",
				st.Areas, st.Residences, st.Births, st.Deaths, st.Marriages, st.Parcels, st.LandCertificates,
				st.InsuranceCards, st.Vehicles, st.Businesses, st.HouseholdBusinesses, st.Schools, st.Classes, st.Pupils)
			return nil
		},
	}
}

func auditCommand() command {
	var witnesses []string
	var from, out string
	return command{
		name:  "audit",
		usage: "civitas audit verify [--data DIR] [--db DSN] [--witness FILE|URL ...] | civitas audit witness --from URL --out FILE",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.Func("witness", "verify: a witness's copies of the signed checkpoints, a JSON-lines `FILE` or an http(s) URL "+
				"(/audit/checkpoints, /audit/checkpoints/latest, or a witness's file served); repeatable", func(v string) error {
				witnesses = append(witnesses, v)
				return nil
			})
			fs.StringVar(&from, "from", "", "witness: the `URL` of a province's /audit/checkpoints")
			fs.StringVar(&out, "out", "", "witness: the JSON-lines `FILE` of copies, appended to")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			switch {
			case len(args) == 1 && args[0] == "verify":
				return auditVerify(ctx, c, witnesses, stdout)
			case len(args) == 1 && args[0] == "witness":
				if from == "" || out == "" {
					return usageError("--from and --out are required")
				}
				return auditWitness(ctx, from, out, stdout)
			}
			return usageError("expected: civitas audit verify | civitas audit witness")
		},
	}
}

// auditVerify checks the chain, the checkpoints in the database, and each
// witness's copies of the checkpoints.
func auditVerify(ctx context.Context, c config.Config, witnesses []string, stdout io.Writer) error {
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	rep, err := audit.Verify(ctx, d)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("audit log broken at record %d: %s (%d records before it verified)", rep.FirstBad, rep.Problem, rep.Records)
	}
	cps, err := pki.VerifyCheckpoints(ctx, d)
	if err != nil {
		return err
	}
	if cps.Problem != "" {
		return fmt.Errorf("audit checkpoint %d does not verify: %s (%d checkpoints before it verified)", cps.FirstBad, cps.Problem, cps.Checkpoints)
	}
	// The verdict is printed once every witness agreed: "intact" followed
	// by a witness's objection would read as two answers.
	var report strings.Builder
	fmt.Fprintf(&report, "audit log intact: %d records verified in %s; head %d %s; %d signed checkpoints verified (%d time-stamped)\n",
		rep.Records, time.Since(start).Round(time.Millisecond), rep.Head.Seq, rep.Head.Hash, cps.Checkpoints, cps.Stamped)
	for _, w := range witnesses {
		src, closeSrc, err := witnessSource(ctx, w)
		if err != nil {
			return err
		}
		wr, err := pki.VerifyWitness(ctx, d, src)
		closeSrc()
		if err != nil {
			return err
		}
		if !wr.OK() {
			return fmt.Errorf("witness %s: %s (%d witnessed checkpoints before it verified)", w, wr.Problem, wr.Checkpoints)
		}
		if wr.Checkpoints == 0 {
			return fmt.Errorf("witness %s holds no checkpoint", w)
		}
		fmt.Fprintf(&report, "witness %s: %d checkpoints verified (%d time-stamped); no record up to %d (sealed %s) was removed or changed\n",
			w, wr.Checkpoints, wr.Stamped, wr.Newest.Seq, wr.Newest.At.Format(time.RFC3339))
	}
	_, err = io.WriteString(stdout, report.String())
	return err
}

// witnessSource reads a witness's copies from a file or a URL.
func witnessSource(ctx context.Context, w string) (iter.Seq2[pki.Witnessed, error], func(), error) {
	if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
		return pki.CheckpointClient{}.Fetch(ctx, w, 0), func() {}, nil
	}
	f, err := os.Open(w)
	if err != nil {
		return nil, nil, fmt.Errorf("--witness: %w", err)
	}
	return pki.ReadWitness(bufio.NewReaderSize(f, 256<<10), filepath.Base(w)), func() { f.Close() }, nil
}

// auditWitness appends to out the checkpoints published at from that are
// newer than the newest out holds.
func auditWitness(ctx context.Context, from, out string, stdout io.Writer) error {
	held := func(yield func(pki.Witnessed, error) bool) {}
	f, err := os.Open(out)
	switch {
	case err == nil:
		defer f.Close()
		held = pki.ReadWitness(bufio.NewReaderSize(f, 256<<10), filepath.Base(out))
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--out: %w", err)
	}
	w, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	kept, err := pki.CheckpointClient{}.Keep(ctx, from, held, bw)
	// What was written passed the checks: keep it even when a later
	// checkpoint did not.
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("--out: %w", ferr)
	}
	if serr := w.Sync(); serr != nil && err == nil {
		err = fmt.Errorf("--out: %w", serr)
	}
	if cerr := w.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("--out: %w", cerr)
	}
	if err != nil {
		return err
	}
	if kept.Newest.Seq == 0 {
		fmt.Fprintf(stdout, "no checkpoint published at %s yet\n", from)
		return nil
	}
	fmt.Fprintf(stdout, "%d new checkpoints appended to %s; the newest seals %d records (sealed %s)\n",
		kept.Added, out, kept.Newest.Seq, kept.Newest.At.Format(time.RFC3339))
	return nil
}

// registries are the names `civitas registry list` takes, in the order
// its usage lists them.
var registries = []string{"units", "boundaries", "areas", "households", "persons", "residences", "births", "deaths", "marriages",
	"land", "insurance", "vehicles", "businesses", "household-businesses", "schools", "classes", "pupils", "agencies", "officials", "registries"}

func registryCommand() command {
	var limit int
	var asJSON bool
	return command{
		name:  "registry",
		usage: "civitas registry list " + strings.Join(registries, "|") + " [--data DIR] [--db DSN] [--limit N] [--json]\n       civitas registry at LAT LON [--json]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.IntVar(&limit, "limit", 0, "list at most `N` rows (0: all)")
			fs.BoolVar(&asJSON, "json", false, "write JSON lines")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			var lat, lon float64
			switch {
			case len(args) == 2 && args[0] == "list":
				if !slices.Contains(registries, args[1]) {
					return usageError(fmt.Sprintf("unknown registry %q: expected one of %s", args[1], strings.Join(registries, ", ")))
				}
			case len(args) == 3 && args[0] == "at":
				var err1, err2 error
				lat, err1 = strconv.ParseFloat(args[1], 64)
				lon, err2 = strconv.ParseFloat(args[2], 64)
				if err1 != nil || err2 != nil {
					return usageError("expected: civitas registry at LAT LON, in degrees (12.68 108.05)")
				}
			default:
				return usageError("expected: civitas registry list " + strings.Join(registries, "|") + ", or civitas registry at LAT LON")
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			svc := registry.New(d, kernel.SystemClock{})
			out := bufio.NewWriterSize(stdout, 64<<10)
			defer out.Flush()
			var w rowWriter
			if asJSON {
				enc := json.NewEncoder(out)
				w = func(v any, _ []string) error { return enc.Encode(v) }
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				defer tw.Flush()
				w = func(_ any, cols []string) error {
					for i, c := range cols {
						if i > 0 {
							fmt.Fprint(tw, "\t")
						}
						fmt.Fprint(tw, c)
					}
					_, err := fmt.Fprintln(tw)
					return err
				}
			}
			if args[0] == "at" {
				u, err := svc.UnitAt(ctx, lat, lon)
				if err != nil {
					return err
				}
				return w(u, []string{u.Code, u.Name, string(u.Level), u.ParentCode})
			}
			return listRegistry(ctx, svc, args[1], limit, w)
		},
	}
}

type rowWriter func(v any, cols []string) error

// rows lists one page of a registry: each row as a value (for JSON) and as
// table columns, and the key the next page starts after.
func rows[T any](xs []T, err error, cols func(*T) []string, key func(*T) string) (out []any, table [][]string, last string, _ error) {
	for i := range xs {
		out, table, last = append(out, xs[i]), append(table, cols(&xs[i])), key(&xs[i])
	}
	return out, table, last, err
}

// listRegistry pages through one registry, writing each row.
func listRegistry(ctx context.Context, svc *registry.Service, what string, limit int, w rowWriter) error {
	page := func(after string) ([]any, [][]string, string, error) {
		p := kernel.Page{After: after, Limit: kernel.MaxPageLimit}
		switch what {
		case "units":
			us, err := svc.ListUnits(ctx, p)
			return rows(us, err, func(u *registry.Unit) []string { return []string{u.Code, u.Name, string(u.Level), u.ParentCode} },
				func(u *registry.Unit) string { return u.Code })
		case "boundaries":
			bs, err := svc.ListBoundaries(ctx, p)
			return rows(bs, err, func(b *registry.Boundary) []string {
				return []string{b.UnitCode, fmt.Sprintf("%.5f,%.5f", b.MinLat, b.MinLon), fmt.Sprintf("%.5f,%.5f", b.MaxLat, b.MaxLon), fmt.Sprint(len(b.Polygon), " vertices")}
			}, func(b *registry.Boundary) string { return b.UnitCode })
		case "areas":
			as, err := svc.ListAreas(ctx, p)
			return rows(as, err, func(a *registry.ResidentialArea) []string {
				return []string{a.Code, a.Name, string(a.Kind), a.UnitCode, fmt.Sprintf("%.5f,%.5f", a.Centre.Lat, a.Centre.Lon)}
			}, func(a *registry.ResidentialArea) string { return a.Code })
		case "households":
			hs, err := svc.ListHouseholds(ctx, p)
			return rows(hs, err, func(h *registry.Household) []string { return []string{h.ID, h.HeadCitizenID, h.AreaCode, h.Address} },
				func(h *registry.Household) string { return h.ID })
		case "persons":
			ps, err := svc.ListPersons(ctx, p)
			return rows(ps, err, func(x *registry.Person) []string { return []string{x.CitizenID, x.FullName, x.BirthDate, x.UnitCode} },
				func(x *registry.Person) string { return x.CitizenID })
		case "residences":
			rs, err := svc.ListResidences(ctx, p)
			return rows(rs, err, func(r *registry.Residence) []string {
				return []string{r.ID, string(r.Kind), r.HouseholdID, string(r.Relation), r.From, r.Until, r.Address}
			}, func(r *registry.Residence) string { return r.ID })
		case "births":
			bs, err := svc.ListBirths(ctx, p)
			return rows(bs, err, func(b *registry.Birth) []string {
				return []string{b.CitizenID, b.FullName, b.BirthDate, b.RegistrationNumber, b.AgencyCode}
			}, func(b *registry.Birth) string { return b.CitizenID })
		case "deaths":
			ds, err := svc.ListDeaths(ctx, p)
			return rows(ds, err, func(x *registry.Death) []string {
				return []string{x.CitizenID, x.FullName, x.DiedOn, x.RegistrationNumber, x.AgencyCode}
			}, func(x *registry.Death) string { return x.CitizenID })
		case "marriages":
			ms, err := svc.ListMarriages(ctx, p)
			return rows(ms, err, func(m *registry.Marriage) []string {
				return []string{m.ID, m.HusbandCitizenID, m.WifeCitizenID, m.MarriedOn, m.EndedOn}
			}, func(m *registry.Marriage) string { return m.ID })
		case "land":
			ps, err := svc.ListParcels(ctx, p)
			return rows(ps, err, func(x *registry.LandParcel) []string {
				cert := ""
				if x.Certificate != nil {
					cert = x.Certificate.Number
				}
				return []string{x.ID, x.LandUse, fmt.Sprintf("%.1f m²", x.AreaM2), fmt.Sprint(len(x.Owners), " owners"), cert}
			}, func(x *registry.LandParcel) string { return x.ID })
		case "insurance":
			cs, err := svc.ListInsuranceCards(ctx, p)
			return rows(cs, err, func(c *registry.InsuranceCard) []string {
				return []string{c.CardNumber, c.CitizenID, c.Participation, c.ValidTo, c.Hospital}
			}, func(c *registry.InsuranceCard) string { return c.CardNumber })
		case "vehicles":
			vs, err := svc.ListVehicles(ctx, p)
			return rows(vs, err, func(v *registry.Vehicle) []string { return []string{v.Plate, v.OwnerCitizenID, v.Make, v.Model} },
				func(v *registry.Vehicle) string { return v.Plate })
		case "businesses":
			bs, err := svc.ListBusinesses(ctx, p)
			return rows(bs, err, func(b *registry.Business) []string {
				return []string{b.RegNumber, b.Name, string(b.Kind), b.LegalRepCitizenID}
			},
				func(b *registry.Business) string { return b.RegNumber })
		case "household-businesses":
			hs, err := svc.ListHouseholdBusinesses(ctx, p)
			return rows(hs, err, func(h *registry.HouseholdBusiness) []string {
				return []string{h.RegNumber, h.Name, h.OwnerCitizenID, string(h.Status)}
			}, func(h *registry.HouseholdBusiness) string { return h.RegNumber })
		case "schools":
			ss, err := svc.ListSchools(ctx, p)
			return rows(ss, err, func(s *registry.School) []string { return []string{s.Code, s.Name, string(s.Level), s.UnitCode} },
				func(s *registry.School) string { return s.Code })
		case "classes":
			cs, err := svc.ListClasses(ctx, p)
			return rows(cs, err, func(c *registry.Class) []string { return []string{c.ID, fmt.Sprint(c.Grade), c.TeacherCitizenID} },
				func(c *registry.Class) string { return c.ID })
		case "pupils":
			ps, err := svc.ListPupils(ctx, "", p)
			return rows(ps, err, func(x *registry.Pupil) []string {
				return []string{x.CitizenID, x.FullName, x.ClassID, fmt.Sprint(len(x.Guardians), " guardians")}
			}, func(x *registry.Pupil) string { return x.CitizenID })
		case "agencies":
			as, err := svc.ListAgencies(ctx, p)
			return rows(as, err, func(x *registry.Agency) []string { return []string{x.Code, x.Name, string(x.Kind), x.UnitCode} },
				func(x *registry.Agency) string { return x.Code })
		case "officials":
			os, err := svc.ListOfficials(ctx, p)
			return rows(os, err, func(x *registry.Official) []string { return []string{x.CitizenID, x.AgencyCode, string(x.Role)} },
				func(x *registry.Official) string { return x.ID })
		case "registries":
			if after != "" {
				return nil, nil, "", nil
			}
			rs, err := svc.Registries(ctx)
			return rows(rs, err, func(r *registry.Registry) []string { return []string{r.Code, r.Name, r.AgencyCode} },
				func(r *registry.Registry) string { return r.Code })
		}
		return nil, nil, "", usageError(fmt.Sprintf("unknown registry %q", what))
	}
	n, after := 0, ""
	for {
		rows, cols, last, err := page(after)
		if err != nil {
			return err
		}
		for i := range rows {
			if limit > 0 && n >= limit {
				return nil
			}
			if err := w(rows[i], cols[i]); err != nil {
				return err
			}
			n++
		}
		if len(rows) < kernel.MaxPageLimit {
			return nil
		}
		after = last
	}
}
