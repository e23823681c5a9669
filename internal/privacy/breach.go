package privacy

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// NotifyWithin is how long after a breach the authority must be told
// (Decree 13/2023/NĐ-CP, Article 23: 72 hours, to the Ministry of Public
// Security's Department of Cyber Security and High-Tech Crime Prevention,
// A05; a later notification says why it is late).
const NotifyWithin = 72 * time.Hour

// Breach is a personal-data breach as the operator records it.
type Breach struct {
	ID            string
	RecordedAt    time.Time
	DetectedAt    time.Time
	OccurredAt    time.Time // zero when unknown
	Description   string    // what happened: where, how, by whom if known
	Categories    string    // which kinds of personal data
	Subjects      string    // whose data: which people, described
	SubjectsCount int64     // how many people, as far as known (0: unknown)
	Consequences  string    // what may follow for them
	Measures      string    // what was done to stop it and limit the harm
	Contact       string    // who answers for data protection: name, phone, e-mail
	LateReason    string    // why the authority is told after NotifyWithin
	Notification  string    // the text sent to the authority
	NotifiedAt    time.Time // when it was sent; zero while not yet
	RecordedBy    string
}

// Deadline is when the authority must have been told.
func (b Breach) Deadline() time.Time {
	from := b.DetectedAt
	if !b.OccurredAt.IsZero() && b.OccurredAt.Before(from) {
		from = b.OccurredAt
	}
	return from.Add(NotifyWithin)
}

func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return kernel.Micros(t)
}

// mayOperate refuses anyone but an operator at the command line.
func mayOperate(ctx context.Context) error {
	if k := kernel.ActorFrom(ctx).Kind; k != kernel.ActorOperator && k != kernel.ActorSystem {
		return kernel.E(kernel.Forbidden, "privacy.error.operator_only")
	}
	return nil
}

// RecordBreach records a breach and makes the notification the authority
// must receive, in Vietnamese (a legal record, in the official language),
// with every item Article 23 asks for. A breach recorded past its deadline
// needs a reason for the delay. Audited as privacy.breach.record, with no
// personal data in the record.
func (s *Service) RecordBreach(ctx context.Context, b Breach) (Breach, error) {
	if err := mayOperate(ctx); err != nil {
		return Breach{}, err
	}
	for _, f := range []string{b.Description, b.Categories, b.Subjects, b.Contact} {
		if strings.TrimSpace(f) == "" || !utf8.ValidString(f) {
			return Breach{}, kernel.E(kernel.Invalid, "privacy.error.breach_fields")
		}
	}
	now := s.o.Clock.Now()
	if b.DetectedAt.IsZero() || b.DetectedAt.After(now.Add(time.Minute)) || (!b.OccurredAt.IsZero() && b.OccurredAt.After(b.DetectedAt)) {
		return Breach{}, kernel.E(kernel.Invalid, "privacy.error.breach_times")
	}
	if b.SubjectsCount < 0 {
		return Breach{}, kernel.E(kernel.Invalid, "privacy.error.breach_fields")
	}
	late := b.NotifiedAt.After(b.Deadline()) || (b.NotifiedAt.IsZero() && now.After(b.Deadline()))
	if late && strings.TrimSpace(b.LateReason) == "" {
		return Breach{}, kernel.E(kernel.Invalid, "privacy.error.breach_late", b.Deadline().In(kernel.Zone()).Format(time.RFC3339))
	}
	b.ID = kernel.NewID()
	b.RecordedAt = now.UTC().Truncate(time.Microsecond)
	b.RecordedBy = kernel.ActorFrom(ctx).ID
	b.Notification = notification(b)
	err := s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		if err := insertBreach(ctx, tx, b); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "privacy.breach.record", SubjectType: "breach", SubjectID: b.ID,
			Details: map[string]any{"detected_at": b.DetectedAt.Format(time.RFC3339), "subjects_count": b.SubjectsCount,
				"deadline": b.Deadline().Format(time.RFC3339), "notified": !b.NotifiedAt.IsZero()}})
		return err
	})
	if err != nil {
		return Breach{}, err
	}
	return b, nil
}

// Breaches lists the recorded breaches, newest first.
func (s *Service) Breaches(ctx context.Context) ([]Breach, error) {
	if err := mayOperate(ctx); err != nil {
		return nil, err
	}
	var out []Breach
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = findBreaches(ctx, tx)
		return err
	})
	return out, err
}

// BreachNotified records when the authority was told of a breach. Audited.
func (s *Service) BreachNotified(ctx context.Context, id string, at time.Time) error {
	if err := mayOperate(ctx); err != nil {
		return err
	}
	if at.IsZero() || at.After(s.o.Clock.Now().Add(time.Minute)) {
		return kernel.E(kernel.Invalid, "privacy.error.breach_times")
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		ok, err := markBreachNotified(ctx, tx, id, kernel.Micros(at))
		if err != nil {
			return err
		}
		if !ok {
			return kernel.E(kernel.NotFound, "privacy.error.no_breach")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "privacy.breach.notified", SubjectType: "breach", SubjectID: id,
			Details: map[string]any{"notified_at": at.Format(time.RFC3339)}})
		return err
	})
}

// notification is the text for the authority (Decree 13/2023/NĐ-CP,
// Article 23(3), the content of form 03): the nature of the breach (time,
// place, acts, data and people concerned), the contact, the consequences,
// the measures, and, when late, why.
func notification(b Breach) string {
	t := func(v time.Time) string {
		if v.IsZero() {
			return "chưa xác định"
		}
		return v.In(kernel.Zone()).Format("15:04 ngày 02/01/2006 (UTC+7)")
	}
	or := func(s, none string) string {
		if strings.TrimSpace(s) == "" {
			return none
		}
		return strings.TrimSpace(s)
	}
	count := "chưa xác định"
	if b.SubjectsCount > 0 {
		count = fmt.Sprint(b.SubjectsCount)
	}
	var w strings.Builder
	fmt.Fprintf(&w, "THÔNG BÁO VI PHẠM QUY ĐỊNH VỀ BẢO VỆ DỮ LIỆU CÁ NHÂN\n")
	fmt.Fprintf(&w, "Kính gửi: Cục An ninh mạng và phòng, chống tội phạm sử dụng công nghệ cao (A05), Bộ Công an\n")
	fmt.Fprintf(&w, "Căn cứ Điều 23 Nghị định 13/2023/NĐ-CP và Luật Bảo vệ dữ liệu cá nhân năm 2025.\n\n")
	fmt.Fprintf(&w, "Mã sự cố: %s\n", b.ID)
	fmt.Fprintf(&w, "1. Mô tả tính chất của vi phạm\n")
	fmt.Fprintf(&w, "- Thời điểm xảy ra: %s\n- Thời điểm phát hiện: %s\n", t(b.OccurredAt), t(b.DetectedAt))
	fmt.Fprintf(&w, "- Diễn biến, địa điểm, hành vi, tổ chức và cá nhân liên quan: %s\n", strings.TrimSpace(b.Description))
	fmt.Fprintf(&w, "- Các loại dữ liệu cá nhân liên quan: %s\n", strings.TrimSpace(b.Categories))
	fmt.Fprintf(&w, "- Chủ thể dữ liệu liên quan: %s (số lượng: %s)\n", strings.TrimSpace(b.Subjects), count)
	fmt.Fprintf(&w, "2. Đầu mối liên hệ về bảo vệ dữ liệu cá nhân: %s\n", strings.TrimSpace(b.Contact))
	fmt.Fprintf(&w, "3. Hậu quả, thiệt hại có thể xảy ra: %s\n", or(b.Consequences, "đang đánh giá"))
	fmt.Fprintf(&w, "4. Biện pháp đã thực hiện để giải quyết, giảm thiểu tác hại: %s\n", or(b.Measures, "đang triển khai"))
	fmt.Fprintf(&w, "Thời hạn thông báo: %s (72 giờ).\n", t(b.Deadline()))
	if strings.TrimSpace(b.LateReason) != "" {
		fmt.Fprintf(&w, "Lý do thông báo sau 72 giờ: %s\n", strings.TrimSpace(b.LateReason))
	}
	return w.String()
}
