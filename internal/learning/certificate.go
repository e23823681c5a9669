package learning

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// CertificateType is the wallet's document type of course certificates.
const CertificateType = "course_certificate"

// areaNames name the competence areas on certificates, in Vietnamese and
// English: a certificate's claims are read by anyone, in one language.
var areaNames = map[string]string{
	"1":    "Thông tin và dữ liệu (Information and data literacy)",
	"2":    "Giao tiếp và hợp tác (Communication and collaboration)",
	"3":    "Sáng tạo nội dung số (Digital content creation)",
	"4":    "An toàn (Safety)",
	"5":    "Giải quyết vấn đề (Problem solving)",
	"road": "An toàn giao thông (Traffic safety)",
}

// scoreBand is a passing score's band of ten: "80–89%", "90–100%".
func scoreBand(permille int) string {
	pct := permille / 10
	lo := pct / 10 * 10
	if lo >= 90 {
		return "90–100%"
	}
	return strconv.Itoa(lo) + "–" + strconv.Itoa(lo+9) + "%"
}

// certificateClaims are the claims of a course certificate.
func certificateClaims(c CourseInfo, fullName, birthDate string, completed time.Time, best int, issuedBy string) map[string]any {
	return map[string]any{
		"full_name":       fullName,
		"birth_date":      birthDate,
		"course_code":     c.Code,
		"course_title":    c.Title("vi"),
		"competence_area": areaNames[c.Area],
		"level":           c.Level,
		"completed_on":    completed.In(kernel.Zone()).Format(time.DateOnly),
		"score_band":      scoreBand(best),
		"issued_by":       issuedBy,
	}
}

// issueCertificate issues the certificate of a passed enrolment into the
// learner's wallet, as their school's agency or the provincial education
// department, and records it. It does nothing for an enrolment whose
// certificate is issued.
func (s *Service) issueCertificate(ctx context.Context, enrolment string) (string, error) {
	if s.o.Certificates == nil {
		return "", nil
	}
	var e Enrolment
	var c CourseInfo
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		e, err = scanEnrolment(tx.QueryRow(ctx, `SELECT `+enrolmentColumns+` FROM learning_enrolments WHERE id = ?`, enrolment))
		if err != nil {
			return notFound(err, "learning.error.not_enrolled", "enrolment")
		}
		c, err = findCourse(ctx, tx, e.Course)
		return err
	})
	if err != nil {
		return "", err
	}
	if e.CertState != CertPending {
		return e.Certificate, nil
	}
	agency := s.o.Department
	if e.School != "" && s.o.Schools != nil {
		if sc, err := s.o.Schools.School(ctx, e.School); err == nil && sc.Agency != "" {
			agency = sc.Agency
		}
	}
	fail := func(err error) (string, error) {
		_ = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE learning_enrolments SET cert_tries = cert_tries + 1 WHERE id = ?`, enrolment)
			return err
		})
		return "", err
	}
	if agency == "" {
		return fail(fmt.Errorf("learning: no agency issues certificates"))
	}
	ag, err := s.o.People.Agency(ctx, agency)
	if err != nil {
		return fail(err)
	}
	p, err := s.o.People.Person(ctx, e.Learner)
	if err != nil {
		return fail(err)
	}
	claims := certificateClaims(c, p.FullName, p.BirthDate, e.PassedAt, e.Best, ag.Name)
	sys := kernel.WithActor(ctx, kernel.System("learning.certificates"))
	doc, err := s.o.Certificates.IssueCertificate(sys, agency, e.Learner, claims)
	if err != nil {
		return fail(err)
	}
	err = s.o.DB.Update(sys, s.now(), func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE learning_enrolments SET cert_state = ?, certificate = ? WHERE id = ? AND cert_state = ?`,
			CertIssued, doc, enrolment, CertPending); err != nil {
			return kernel.Wrap(err, "learning: certificate")
		}
		return audit.Queue(sys, tx, audit.Entry{Action: "learning.certificate.issue", SubjectType: "enrolment", SubjectID: enrolment,
			Details: map[string]any{"course": e.Course, "document": doc, "agency": agency}})
	})
	return doc, err
}

// maxCertTries bounds how often the job tries a certificate that fails.
const maxCertTries = 20

// RetryCertificates issues the certificates of passed courses that could
// not be issued at once (the wallet or the agency's seal unavailable). A
// background job runs it.
func (s *Service) RetryCertificates(ctx context.Context) (int, error) {
	// A minute's grace: the submission that passed is issuing it now.
	rows, err := s.o.DB.Query(ctx, `SELECT id FROM learning_enrolments WHERE cert_state = ? AND cert_tries < ? AND passed_at < ?
		ORDER BY passed_at LIMIT 100`, CertPending, maxCertTries, kernel.Micros(s.now().Add(-time.Minute)))
	if err != nil {
		return 0, kernel.Wrap(err, "learning: pending certificates")
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, kernel.Wrap(err, "learning: pending certificates")
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		if doc, err := s.issueCertificate(ctx, id); err == nil && doc != "" {
			n++
		}
	}
	return n, nil
}
