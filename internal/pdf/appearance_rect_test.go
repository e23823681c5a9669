package pdf

import (
	"bytes"
	"testing"

	"civitas/internal/pdf/pdftest"
)

// TestDefaultRect: the default box, 240×80 pt at 36 pt from the bottom
// right corner of the page as shown, in user space for each rotation;
// smaller on a small page; and a given rectangle normalised.
func TestDefaultRect(t *testing.T) {
	a4 := [4]float64{0, 0, 595, 842}
	for _, c := range []struct {
		name string
		a    Appearance
		g    pageGeometry
		want [4]float64
	}{
		{"ok/upright", Appearance{}, pageGeometry{crop: a4}, [4]float64{319, 36, 559, 116}},
		// Shown turned a quarter clockwise: the bottom right seen is the
		// top right of user space, and the box is 80 wide, 240 high.
		{"ok/rotate 90", Appearance{}, pageGeometry{crop: a4, rotate: 90}, [4]float64{479, 566, 559, 806}},
		{"ok/rotate 180", Appearance{}, pageGeometry{crop: a4, rotate: 180}, [4]float64{36, 726, 276, 806}},
		{"ok/rotate 270", Appearance{}, pageGeometry{crop: a4, rotate: 270}, [4]float64{36, 36, 116, 276}},
		{"ok/crop box offset", Appearance{}, pageGeometry{crop: [4]float64{100, 200, 695, 1042}}, [4]float64{419, 236, 659, 316}},
		{"ok/small page", Appearance{}, pageGeometry{crop: [4]float64{0, 0, 200, 100}}, [4]float64{10, 10, 190, 90}},
		{"ok/given", Appearance{Rect: [4]float64{300, 200, 100, 150}}, pageGeometry{crop: a4}, [4]float64{100, 150, 300, 200}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.a.rect(c.g)
			if err != nil || got != c.want {
				t.Errorf("rect %v %v, want %v", got, err, c.want)
			}
		})
	}
}

// TestGeometry: boxes and rotation are inherited from the page tree, the
// CropBox is clipped to the MediaBox, and odd values are ignored.
func TestGeometry(t *testing.T) {
	tiny := pdftest.Tiny()
	d, err := Open(bytes.NewReader(tiny), int64(len(tiny)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		page, inh Dict
		want      pageGeometry
	}{
		{"ok/own media box", Dict{"MediaBox": Array{Int(0), Int(0), Int(100), Real(200.5)}}, nil, pageGeometry{crop: [4]float64{0, 0, 100, 200.5}}},
		{"ok/inherited", Dict{}, Dict{"MediaBox": Array{Int(0), Int(0), Int(300), Int(400)}, "Rotate": Int(-90)}, pageGeometry{crop: [4]float64{0, 0, 300, 400}, rotate: 270}},
		{"ok/crop clipped", Dict{"MediaBox": Array{Int(0), Int(0), Int(300), Int(400)}, "CropBox": Array{Int(-10), Int(50), Int(250), Int(900)}}, nil, pageGeometry{crop: [4]float64{0, 50, 250, 400}}},
		{"ok/crop outside ignored", Dict{"MediaBox": Array{Int(0), Int(0), Int(300), Int(400)}, "CropBox": Array{Int(500), Int(500), Int(600), Int(600)}}, nil, pageGeometry{crop: [4]float64{0, 0, 300, 400}}},
		{"ok/no media box is Letter", Dict{"Rotate": Int(45)}, nil, pageGeometry{crop: [4]float64{0, 0, 612, 792}}},
		{"ok/reversed corners", Dict{"MediaBox": Array{Int(595), Int(842), Int(0), Int(0)}, "Rotate": Int(450)}, nil, pageGeometry{crop: [4]float64{0, 0, 595, 842}, rotate: 90}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := d.geometry(c.page, c.inh); got != c.want {
				t.Errorf("%+v, want %+v", got, c.want)
			}
		})
	}
}
