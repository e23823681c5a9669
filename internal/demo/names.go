package demo

// districtName is a district's name and what its communes are called:
// wards (Phường) in a city or town, communes (Xã) elsewhere.
type districtName struct{ name, communePrefix string }

// Name tables, weighted by repetition where it matters (Nguyễn is by far the
// most common family name).
var (
	familyNames = []string{
		"Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Trần",
		"Lê", "Lê", "Lê", "Phạm", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
		"Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trương", "Lương", "Mai", "Tạ", "H'Niê", "Y",
	}
	maleMiddle   = []string{"Văn", "Văn", "Văn", "Đức", "Minh", "Hữu", "Quang", "Thanh", "Công", "Xuân", "Ngọc", "Anh"}
	femaleMiddle = []string{"Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Bảo", "Phương", "Diệu"}
	maleGiven    = []string{
		"An", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khang", "Khoa",
		"Kiên", "Lâm", "Long", "Lộc", "Minh", "Nam", "Nghĩa", "Nhân", "Phát", "Phong", "Phúc", "Quân",
		"Quang", "Sơn", "Tài", "Tâm", "Thắng", "Thành", "Thịnh", "Toàn", "Trung", "Tuấn", "Việt", "Vinh",
	}
	femaleGiven = []string{
		"Anh", "Châu", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng", "Hương",
		"Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh",
		"Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thu", "Thủy", "Trang", "Tuyết", "Uyên", "Vân", "Vy", "Yến",
	}
	districtNames = []districtName{
		{"Thành phố Sông Xanh", "Phường"},
		{"Thị xã Bình Minh", "Phường"},
		{"Huyện Tân Phú", "Xã"},
		{"Huyện Hòa An", "Xã"},
		{"Huyện Đông Sơn", "Xã"},
		{"Huyện Phước Lộc", "Xã"},
		{"Huyện Thanh Bình", "Xã"},
		{"Huyện Lạc Hòa", "Xã"},
		{"Huyện Ea Xanh", "Xã"},
	}
	communeNames = []string{
		"Hòa Bình", "Tân Lập", "An Phú", "Bình Minh", "Phú Lợi", "Tân Hòa", "Hòa Thuận", "Quyết Thắng",
		"Thống Nhất", "Tân Tiến", "Hưng Lợi", "Phước Hải", "An Bình", "Đông Hòa", "Tây Sơn", "Nam Thành",
		"Bắc Sơn", "Hòa Xuân", "Cư Yên", "Ea Kao", "Krông Búk", "Tân An", "Thắng Lợi", "Đoàn Kết",
		"Hiệp Phước", "Long Hưng", "Phú Mỹ", "Thạnh Mỹ", "Vĩnh Hòa", "Xuân Lộc", "Yên Thế", "Mỹ Phước",
	}
	districtNames098 = []districtName{
		{"Thành phố Đồi Thông", "Phường"},
		{"Thị xã Hồ Sen", "Phường"},
		{"Huyện Ia Lâm", "Xã"},
		{"Huyện Chư Mây", "Xã"},
		{"Huyện Đăk Hòa", "Xã"},
		{"Huyện Mang Yên", "Xã"},
		{"Huyện Kon Rêu", "Xã"},
		{"Huyện An Khê Thượng", "Xã"},
	}
	communeNames098 = []string{
		"Ia Băng", "Ia Sao", "Chư Pơng", "Đăk Mar", "Kon Đào", "Hà Tam", "Tân Sơn", "Thống Nhất",
		"Diên Phú", "Ia Kênh", "Biển Hồ", "Trà Đa", "Gào", "Ia Pếch", "Đăk Sơ Mei", "Hà Bầu",
		"Ayun", "Nghĩa Hưng", "Hòa Phú", "Phú An", "Tân Bình", "Kim Tân", "Ia Hrú", "Lơ Pang",
		"Yang Nam", "Đak Yă", "Ia Der", "Chư Á", "An Phú", "Hội Phú", "Trà Bá", "Yên Thế",
	}
	districtNames097 = []districtName{
		{"Thành phố Biển Bạc", "Phường"},
		{"Thị xã Cửa Gió", "Phường"},
		{"Huyện Mũi Cát", "Xã"},
		{"Huyện Đồng Muối", "Xã"},
		{"Huyện Hàm Sơn", "Xã"},
		{"Huyện Tánh Lộc", "Xã"},
		{"Huyện Bắc Bình Sơn", "Xã"},
	}
	communeNames097 = []string{
		"Hàm Tiến", "Phú Hài", "Mũi Né", "Thiện Nghiệp", "Tiến Lợi", "Phong Nẫm", "Hòa Thắng", "Hồng Liêm",
		"Chí Công", "Bình Thạnh", "Phước Thể", "Liên Hương", "Vĩnh Hảo", "Hải Ninh", "Sông Lũy", "Lương Sơn",
		"Tân Thắng", "Sơn Mỹ", "Thắng Hải", "Tân Hà", "La Gi", "Phước Hội", "Tân Thiện", "Bình Tân",
		"Tân Phước", "Hàm Mỹ", "Thuận Quý", "Tân Thành", "Hàm Kiệm", "Mương Mán", "Hàm Cường", "Hàm Minh",
	}
	// villages name a rural commune's residential areas besides the
	// numbered thôn: the highland's buôn (Ê Đê villages).
	buonNames = []string{
		"Buôn Ko Tam", "Buôn Ea Kmar", "Buôn Cuôr Kram", "Buôn Kô Sier", "Buôn Ea Rông", "Buôn Ea Bông", "Buôn Tơng Jú",
		"Buôn Tría", "Buôn Ea Sim", "Buôn Kmrơng Prông", "Buôn Pốk", "Buôn Ea Tu", "Buôn Cư Êbur", "Buôn Jun",
	}
)
