package stats

import (
	"fmt"
	"html"
	"strings"
)

// Bar is one bar of a bar chart: a label, a value drawn as a length
// relative to the largest, its text, and the class of its colour (0–4).
type Bar struct {
	Label string
	Value float64
	Text  string
	Class int
}

// Palette is the colours of the five classes, light to dark (a
// sequential scheme readable by colour-blind readers, with text beside).
var Palette = [5]string{"#d4e6f1", "#a9cce3", "#5dade2", "#2874a6", "#1b4f72"}

// classOf puts a share in [0, 1] into one of the five classes.
func classOf(share float64) int {
	c := int(share * 5)
	return max(0, min(4, c))
}

// BarsSVG draws horizontal bars, labelled, as standalone SVG. title names
// the chart for assistive technology; the page puts the same figures in a
// table beside it.
func BarsSVG(id, title string, bars []Bar) string {
	const width, labelW, rowH, pad = 640, 200, 26, 8
	height := pad*2 + rowH*max(len(bars), 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" direction="ltr" role="img" aria-labelledby="%s-title" viewBox="0 0 %d %d" width="%d" height="%d">`,
		id, width, height, width, height)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, id, html.EscapeString(title))
	maxV := 0.0
	for _, br := range bars {
		maxV = max(maxV, br.Value)
	}
	barMax := float64(width - labelW - 90)
	for i, br := range bars {
		y := pad + i*rowH
		w := 0.0
		if maxV > 0 {
			w = br.Value / maxV * barMax
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-family="sans-serif" font-size="13" text-anchor="end" fill="#1c2833">%s</text>`,
			labelW-6, y+17, html.EscapeString(truncate(br.Label, 28)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s" stroke="#1b4f72" stroke-width="0.5"/>`,
			labelW, y+4, w, rowH-8, Palette[br.Class])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-family="sans-serif" font-size="13" fill="#1c2833">%s</text>`,
			float64(labelW)+w+6, y+17, html.EscapeString(br.Text))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Point is one day of a trend.
type Point struct {
	Day   string
	Value int64
	Label string // the day as people read it; Day when empty
}

// label is the point's day for the chart's text.
func (p Point) label() string {
	if p.Label != "" {
		return p.Label
	}
	return p.Day
}

// TrendSVG draws a line of values over days, with its first and last
// values written, as standalone SVG; target, when above zero, is drawn as
// a dashed line.
func TrendSVG(id, title string, points []Point, target int64) string {
	const width, height, padL, padR, padT, padB = 640, 220, 70, 20, 16, 34
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" direction="ltr" role="img" aria-labelledby="%s-title" viewBox="0 0 %d %d" width="%d" height="%d">`,
		id, width, height, width, height)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, id, html.EscapeString(title))
	maxV := max(target, 1)
	for _, p := range points {
		maxV = max(maxV, p.Value)
	}
	plotW, plotH := float64(width-padL-padR), float64(height-padT-padB)
	x := func(i int) float64 {
		if len(points) < 2 {
			return padL
		}
		return padL + float64(i)*plotW/float64(len(points)-1)
	}
	y := func(v int64) float64 { return padT + plotH - float64(v)/float64(maxV)*plotH }
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#566573" stroke-width="1"/>`, padL, y(0), width-padR, y(0))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-family="sans-serif" font-size="12" text-anchor="end" fill="#1c2833">0</text>`, padL-6, y(0)+4)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-family="sans-serif" font-size="12" text-anchor="end" fill="#1c2833">%d</text>`, padL-6, y(maxV)+4, maxV)
	if target > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#b03a2e" stroke-width="1.5" stroke-dasharray="6 4"/>`, padL, y(target), width-padR, y(target))
	}
	if len(points) > 0 {
		var pts []string
		for i, p := range points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(p.Value)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#1b4f72" stroke-width="2"/>`, strings.Join(pts, " "))
		first, last := points[0], points[len(points)-1]
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-family="sans-serif" font-size="12" fill="#1c2833">%s</text>`, padL, height-10, html.EscapeString(first.label()))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-family="sans-serif" font-size="12" text-anchor="end" fill="#1c2833">%s</text>`, width-padR, height-10, html.EscapeString(last.label()))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
