package demo

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
	districtNames = []struct{ name, communePrefix string }{
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
	hamlets = []string{"Thôn", "Tổ dân phố", "Ấp", "Buôn"}
)
