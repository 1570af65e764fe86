package main

import (
	"image"
	"math"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/cliprag/cliprag/embed/ocr"
)

// normalize is the text compared for CER: NFKC (full-width forms become
// ASCII), every white space removed. Spacing is not scored: engines split
// and join lines differently, and Chinese has no spaces.
func normalize(s string) []rune {
	s = norm.NFKC.String(s)
	var out []rune
	for _, r := range s {
		if !unicode.IsSpace(r) {
			out = append(out, r)
		}
	}
	return out
}

type lineBox struct {
	text string
	box  [][2]float64
}

// readingOrder sorts lines into rows (a line joins a row when its vertical
// centre lies within the row's first line's extent), rows top to bottom,
// lines in a row left to right. Every engine's output and the ground truth
// go through it before they are compared.
func readingOrder(lines []lineBox) []lineBox {
	type ext struct{ x0, y0, y1, cy float64 }
	exts := make([]ext, len(lines))
	for i, l := range lines {
		e := ext{math.Inf(1), math.Inf(1), math.Inf(-1), 0}
		for _, p := range l.box {
			e.x0, e.y0, e.y1 = math.Min(e.x0, p[0]), math.Min(e.y0, p[1]), math.Max(e.y1, p[1])
		}
		e.cy = (e.y0 + e.y1) / 2
		exts[i] = e
	}
	idx := make([]int, len(lines))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpF(exts[a].cy, exts[b].cy) })
	var rows [][]int
	for _, i := range idx {
		placed := false
		for r := range rows {
			f := exts[rows[r][0]]
			if exts[i].cy >= f.y0 && exts[i].cy <= f.y1 {
				rows[r] = append(rows[r], i)
				placed = true
				break
			}
		}
		if !placed {
			rows = append(rows, []int{i})
		}
	}
	var out []lineBox
	for _, r := range rows {
		slices.SortStableFunc(r, func(a, b int) int { return cmpF(exts[a].x0, exts[b].x0) })
		for _, i := range r {
			out = append(out, lines[i])
		}
	}
	return out
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cerCounts are character errors and reference characters, per language of
// the ground-truth line they fall in.
type cerCounts struct {
	errs, chars map[string]int
}

func newCounts() cerCounts { return cerCounts{errs: map[string]int{}, chars: map[string]int{}} }

func (c cerCounts) add(o cerCounts) {
	for k, v := range o.errs {
		c.errs[k] += v
	}
	for k, v := range o.chars {
		c.chars[k] += v
	}
}

func (c cerCounts) cer(lang string) float64 {
	if c.chars[lang] == 0 {
		return math.NaN()
	}
	return float64(c.errs[lang]) / float64(c.chars[lang])
}

// imageCER aligns the prediction with the ground truth, both in reading
// order and normalised, by edit distance, and charges each error to the
// language of the ground-truth line it falls in (an insertion to the line
// of the reference character before it, or after it at the start). With
// spaced, white space is kept (collapsed to one space, lines joined by a
// space, dropped next to Chinese characters), so missing or extra spaces
// between words count.
func imageCER(gt []gtLine, pred []predLine, spaced bool) cerCounts {
	g := make([]lineBox, len(gt))
	lang := map[string]string{}
	for i, l := range gt {
		g[i] = lineBox{l.Text, l.Box}
		lang[l.Text] = l.Lang
	}
	var ref []rune
	var refLang []string
	for _, l := range readingOrder(g) {
		t := normText(l.text, spaced)
		if spaced && len(ref) > 0 {
			t = append([]rune{' '}, t...)
		}
		for _, r := range t {
			ref = append(ref, r)
			refLang = append(refLang, lang[l.text])
		}
	}
	var hyp []rune
	for i, l := range readingOrder(predBoxes(pred)) {
		if spaced && i > 0 {
			hyp = append(hyp, ' ')
		}
		hyp = append(hyp, normText(l.text, spaced)...)
	}
	if spaced {
		ref, refLang = dropCJKSpaces(ref, refLang)
		hyp, _ = dropCJKSpaces(hyp, nil)
	}
	c := newCounts()
	for _, l := range refLang {
		c.chars[l]++
	}
	for _, op := range align(ref, hyp) {
		if op.kind == opMatch {
			continue
		}
		switch {
		case len(refLang) == 0:
			c.errs["none"]++
		case op.ref < len(refLang):
			c.errs[refLang[op.ref]]++
		default:
			c.errs[refLang[len(refLang)-1]]++
		}
	}
	return c
}

// normText is normalize, or with spaced NFKC with white space collapsed to
// single spaces and trimmed.
func normText(s string, spaced bool) []rune {
	if !spaced {
		return normalize(s)
	}
	return []rune(strings.Join(strings.Fields(norm.NFKC.String(s)), " "))
}

// dropCJKSpaces removes the spaces next to a Chinese character (Chinese
// is written without them), keeping langs in step.
func dropCJKSpaces(rs []rune, langs []string) ([]rune, []string) {
	var out []rune
	var ol []string
	for i, r := range rs {
		if r == ' ' && ((i > 0 && unicode.Is(unicode.Han, rs[i-1])) || (i+1 < len(rs) && unicode.Is(unicode.Han, rs[i+1]))) {
			continue
		}
		out = append(out, r)
		if langs != nil {
			ol = append(ol, langs[i])
		}
	}
	return out, ol
}

func predBoxes(pred []predLine) []lineBox {
	out := make([]lineBox, len(pred))
	for i, l := range pred {
		out[i] = lineBox{l.Text, l.Box}
	}
	return out
}

const (
	opMatch = iota
	opSub
	opDel
	opIns
)

// editOp is one step of an alignment; ref is the index of the reference
// character it concerns (for an insertion, the one before it, or 0).
type editOp struct{ kind, ref int }

// align is Levenshtein alignment with a backtrace.
func align(ref, hyp []rune) []editOp {
	n, m := len(ref), len(hyp)
	d := make([][]int32, n+1)
	for i := range d {
		d[i] = make([]int32, m+1)
		d[i][0] = int32(i)
	}
	for j := range m + 1 {
		d[0][j] = int32(j)
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			cost := int32(1)
			if ref[i-1] == hyp[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j-1]+cost, d[i-1][j]+1, d[i][j-1]+1)
		}
	}
	var ops []editOp
	i, j := n, m
	for i > 0 || j > 0 {
		switch {
		case i > 0 && j > 0 && d[i][j] == d[i-1][j-1] && ref[i-1] == hyp[j-1]:
			ops = append(ops, editOp{opMatch, i - 1})
			i, j = i-1, j-1
		case i > 0 && j > 0 && d[i][j] == d[i-1][j-1]+1:
			ops = append(ops, editOp{opSub, i - 1})
			i, j = i-1, j-1
		case i > 0 && d[i][j] == d[i-1][j]+1:
			ops = append(ops, editOp{opDel, i - 1})
			i--
		default:
			ops = append(ops, editOp{opIns, max(i-1, 0)})
			j--
		}
	}
	slices.Reverse(ops)
	return ops
}

// refLine is a line of the reference pipeline's output.
type refLine struct {
	Text string       `json:"text"`
	Mean float64      `json:"mean"`
	Box  [][2]float64 `json:"box"`
}

// refResult is one image of scripts/ocr/reference.mjs's output.
type refResult struct {
	File  string    `json:"file"`
	MS    float64   `json:"ms"`
	Lines []refLine `json:"lines"`
}

// refToOriginal maps a box from the reference's detection input (the image
// resized with sharp's "contain" into sides rounded up to multiples of 32,
// centred, padded) back to the original image's pixels.
func refToOriginal(box [][2]float64, w, h int) [][2]float64 {
	W := max(int(math.Ceil(float64(w)/32))*32, 32)
	H := max(int(math.Ceil(float64(h)/32))*32, 32)
	s := math.Min(float64(W)/float64(w), float64(H)/float64(h))
	cw, ch := math.Round(float64(w)*s), math.Round(float64(h)*s)
	left, top := math.Floor((float64(W)-cw)/2), math.Floor((float64(H)-ch)/2)
	out := make([][2]float64, len(box))
	for i, p := range box {
		out[i] = [2]float64{(p[0] - left) * float64(w) / cw, (p[1] - top) * float64(h) / ch}
	}
	return out
}

// groupRows merges lines the way the reference does after recognition
// (groupBoxesByMidlineDifference): a line joins the first group whose first
// line's vertical midline is less than half the mean line height from its
// own; groups are sorted left to right and joined with spaces; their box
// runs from the first line's left edge to the last line's right edge.
func groupRows(lines []predLine) []predLine {
	if len(lines) == 0 {
		return nil
	}
	var avg float64
	for _, l := range lines {
		avg += l.Box[2][1] - l.Box[0][1]
	}
	avg /= float64(len(lines))
	mid := func(l predLine) float64 { return (l.Box[0][1] + l.Box[2][1]) / 2 }
	var groups [][]predLine
	for _, l := range lines {
		placed := false
		for g := range groups {
			if math.Abs(mid(groups[g][0])-mid(l)) < avg/2 {
				groups[g] = append(groups[g], l)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []predLine{l})
		}
	}
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b predLine) int { return cmpF(a.Box[0][0], b.Box[0][0]) })
	}
	slices.SortStableFunc(groups, func(a, b []predLine) int { return cmpF(a[0].Box[0][1], b[0].Box[0][1]) })
	out := make([]predLine, len(groups))
	for i, g := range groups {
		texts := make([]string, len(g))
		var conf float64
		for j, l := range g {
			texts[j] = l.Text
			conf += l.Conf
		}
		first, last := g[0], g[len(g)-1]
		out[i] = predLine{
			Text: strings.Join(texts, " "),
			Conf: conf / float64(len(g)),
			Box:  [][2]float64{first.Box[0], last.Box[1], last.Box[2], first.Box[3]},
		}
	}
	return out
}

// parity counts, over one image, the reference's lines and ours (grouped
// as the reference groups them) that pair up: same text and box IoU of at
// least minIoU. A line of ours pairs with at most one reference line.
type parity struct {
	ref, ours, sameText, sameBox, both int
	// bothLoose pairs lines the same way with their texts compared
	// without white space (the reference's tight crops lose many spaces
	// between English words).
	bothLoose int
}

func (p *parity) add(o parity) {
	p.ref += o.ref
	p.ours += o.ours
	p.sameText += o.sameText
	p.sameBox += o.sameBox
	p.both += o.both
	p.bothLoose += o.bothLoose
}

// lines is the number of distinct lines of the two outputs together.
func (p parity) lines() int { return p.ref + p.ours - p.both }

func compareRef(ref []refLine, ours []predLine, w, h int, minIoU float64) parity {
	mine := groupRows(ours)
	p := parity{ref: len(ref), ours: len(mine)}
	p.both = pairUp(ref, mine, w, h, minIoU, func(a, b string) bool { return a == b }, &p)
	p.bothLoose = pairUp(ref, mine, w, h, minIoU, func(a, b string) bool { return string(normalize(a)) == string(normalize(b)) }, nil)
	return p
}

// pairUp counts the reference lines that pair with one of ours (each of
// ours at most once): the box of ours with the largest IoU, at least
// minIoU, with a text equal by eq. With p, it also counts p.sameText and
// p.sameBox.
func pairUp(ref []refLine, mine []predLine, w, h int, minIoU float64, eq func(a, b string) bool, p *parity) int {
	both := 0
	used := make([]bool, len(mine))
	for _, r := range ref {
		rb := toPoints(refToOriginal(r.Box, w, h))
		best, bestIoU := -1, 0.0
		for j, m := range mine {
			if used[j] {
				continue
			}
			if iou := ocr.BoxIoU(rb, toPoints(m.Box)); iou > bestIoU {
				best, bestIoU = j, iou
			}
		}
		if p != nil {
			if slices.ContainsFunc(mine, func(m predLine) bool { return m.Text == r.Text }) {
				p.sameText++
			}
			if bestIoU >= minIoU {
				p.sameBox++
			}
		}
		if best >= 0 && bestIoU >= minIoU && eq(mine[best].Text, r.Text) {
			both++
			used[best] = true
		}
	}
	return both
}

func toPoints(b [][2]float64) [4]image.Point {
	var out [4]image.Point
	for i := range min(len(b), 4) {
		out[i] = image.Point{X: int(math.Round(b[i][0])), Y: int(math.Round(b[i][1]))}
	}
	return out
}

func boxOf(b [4]image.Point) [][2]float64 {
	out := make([][2]float64, 4)
	for i, p := range b {
		out[i] = [2]float64{float64(p.X), float64(p.Y)}
	}
	return out
}
