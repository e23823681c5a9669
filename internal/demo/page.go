package demo

import (
	"embed"
	"net/http"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// PeoplePath is where the list of demo people is served, with --demo only.
const PeoplePath = "/demo/people"

// peopleShown is how many people the page lists for each role.
const peopleShown = 5

// peopleRole is one role's section of the page.
type peopleRole struct {
	Role   string
	People []shownPerson
}

// shownPerson is a demo person with the catalogue key of their post, when
// the catalogue names it (an unnamed post shows as its code).
type shownPerson struct {
	DemoPerson
	PostKey string
}

// MountPeople serves the list of demo people by role at /demo/people and
// links it from the home page. Call it only when civitas runs with --demo:
// the page names real accounts of the demo province, which a province's
// own registry must never show.
func MountPeople(ws *web.Server, d *db.DB, clock kernel.Clock) error {
	pages, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	ws.HandleFunc("GET "+PeoplePath, func(w http.ResponseWriter, r *http.Request) {
		var roles []peopleRole
		err := d.View(r.Context(), func(tx *db.Tx) error {
			for _, role := range Roles {
				people, err := PeopleByRole(r.Context(), tx, role, clock.Now().In(kernel.Zone()), peopleShown)
				if err != nil {
					return err
				}
				shown := make([]shownPerson, len(people))
				for i, p := range people {
					shown[i] = shownPerson{DemoPerson: p}
					if k := "portal.role." + p.Role; p.Role != "" && ws.Catalog().Has(k) {
						shown[i].PostKey = k
					}
				}
				roles = append(roles, peopleRole{Role: role, People: shown})
			}
			return nil
		})
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		pages.Render(w, r, http.StatusOK, "people", roles)
	})
	ws.AddHomeLink("demo.people.link", PeoplePath)
	return nil
}
