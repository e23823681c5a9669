package stats

import (
	"context"

	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/tally"
)

// Letters is a PDF of letters for the residents of an area who lack a
// level-2 account or its activation and have no phone of their own: each
// letter, one page, names the person and their household's address, and
// where and when to come (the running campaign's support point in the
// commune and the mobile team's visit to the area). Its first page lists
// them. Each letter is a read of the person's data, logged.
func (s *Service) Letters(ctx context.Context, o Official, commune, area string) ([]byte, error) {
	if s.o.Font == nil {
		return nil, kernel.E(kernel.NotFound, "error.not_found")
	}
	w, err := s.worklist(ctx, o, commune, area, "", 0, func(r Resident) bool {
		return !r.OwnPhone && (NeedOf(r) == NeedLevel2 || NeedOf(r) == NeedActivation)
	}, "stats.letters")
	if err != nil {
		return nil, err
	}
	place, hours, visit := "UBND "+w.Commune.Name, "", ""
	running, err := s.Campaigns(ctx, commune, tally.Day(s.o.Clock.Now()))
	if err != nil {
		return nil, err
	}
	for _, c := range running {
		for _, p := range c.Points {
			if p.Unit == commune && hours == "" {
				place, hours = p.Place, p.Hours
			}
		}
		for _, v := range c.Visits {
			if v.Area == area && v.Day >= tally.Day(s.o.Clock.Now()) && visit == "" {
				visit = v.Day + " (" + v.Team + ")"
			}
		}
	}
	const left, size = 64.0, 12.0
	text := func(y float64, sz float64, t string) pdf.PageText {
		return pdf.PageText{Text: t, X: left, Y: y, Size: sz}
	}
	cover := []pdf.PageText{
		text(780, 16, "Thư mời đăng ký tài khoản định danh điện tử mức 2"),
		text(756, size, w.Commune.Name+" — "+w.Area.Name),
		text(736, size, itoa(int64(w.Count))+" người không có điện thoại riêng cần được mời."),
	}
	y := 710.0
	for _, h := range w.Households {
		for _, r := range h.Residents {
			if y < 60 {
				break
			}
			cover = append(cover, text(y, 10, r.FullName+" — "+h.Address))
			y -= 14
		}
	}
	page := pdf.Page{Font: s.o.Font, Texts: cover, Title: "Thư mời — " + w.Area.Name, Lang: "vi", Created: s.o.Clock.Now()}
	for _, h := range w.Households {
		for _, r := range h.Residents {
			lines := []pdf.PageText{
				text(780, 16, "Thư mời"),
				text(740, size, "Kính gửi: "+r.FullName+" (sinh ngày "+r.BirthDate+")"),
				text(722, size, "Địa chỉ: "+h.Address),
				text(690, size, need(r.Resident)),
				text(660, size, "Mời ông/bà mang căn cước đến: "+place),
			}
			if hours != "" {
				lines = append(lines, text(642, size, "Giờ làm việc: "+hours))
			}
			if visit != "" {
				lines = append(lines, text(624, size, "Tổ lưu động đến thôn, tổ dân phố của ông/bà ngày "+visit))
			}
			lines = append(lines, text(580, size, "Không cần điện thoại riêng: mã kích hoạt được gửi bằng thư."),
				text(540, 10, w.Commune.Name+" — "+w.Area.Name))
			page.More = append(page.More, pdf.PageBody{Texts: lines})
		}
	}
	b, err := pdf.WritePage(page)
	if err != nil {
		return nil, kernel.Wrap(err, "stats: letters")
	}
	return b, nil
}

func need(r Resident) string {
	if NeedOf(r) == NeedActivation {
		return "Tài khoản định danh mức 2 của ông/bà chưa được kích hoạt."
	}
	return "Ông/bà chưa có tài khoản định danh điện tử mức 2."
}
