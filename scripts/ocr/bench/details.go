package main

import (
	"fmt"
	"io"

	"github.com/cliprag/cliprag/embed/ocr"
)

// writeDetails lists, per image, the ground truth and each engine's lines
// where they differ, and the reference's lines that ours do not pair with:
// for looking into the figures, not for the report.
func (r report) writeDetails(w io.Writer) {
	for _, e := range r.entries {
		var gt []string
		for _, l := range readingOrder(gtBoxes(e.Lines)) {
			gt = append(gt, l.text)
		}
		fmt.Fprintf(w, "== %s (%s %dx%d)\n   truth: %q\n", e.File, e.Kind, e.Width, e.Height, gt)
		for _, en := range r.engines {
			c := imageCER(e.Lines, en.res[e.File].Lines, false)
			var got []string
			for _, l := range readingOrder(predBoxes(en.res[e.File].Lines)) {
				got = append(got, l.text)
			}
			fmt.Fprintf(w, "   %-10.10s zh %d/%d en %d/%d: %q\n", en.name, c.errs["zh"], c.chars["zh"], c.errs["en"], c.chars["en"], got)
		}
		if ref, ok := r.refs[e.File]; ok {
			p := compareRef(ref.Lines, r.engines[0].res[e.File].Lines, e.Width, e.Height, r.minIoU)
			if p.both != p.ref || p.both != p.ours {
				var rl []string
				for _, l := range ref.Lines {
					rl = append(rl, fmt.Sprintf("%s %v", l.Text, toPoints(refToOriginal(l.Box, e.Width, e.Height))))
				}
				var ol []string
				for _, l := range groupRows(r.engines[0].res[e.File].Lines) {
					ol = append(ol, fmt.Sprintf("%s %v", l.Text, toPoints(l.Box)))
				}
				fmt.Fprintf(w, "   parity %d/%d/%d\n     ref:  %q\n     ours: %q\n", p.both, p.ref, p.ours, rl, ol)
				writeUnpaired(w, ref.Lines, groupRows(r.engines[0].res[e.File].Lines), e.Width, e.Height, r.minIoU)
			}
		}
	}
}

// writeUnpaired lists the reference lines that no line of ours pairs with
// (texts compared without white space), each with our line of the largest
// box IoU.
func writeUnpaired(w io.Writer, ref []refLine, mine []predLine, width, height int, minIoU float64) {
	for _, rl := range ref {
		rb := toPoints(refToOriginal(rl.Box, width, height))
		best, bestIoU := -1, 0.0
		for j, m := range mine {
			if iou := ocr.BoxIoU(rb, toPoints(m.Box)); iou > bestIoU {
				best, bestIoU = j, iou
			}
		}
		if best >= 0 && bestIoU >= minIoU && string(normalize(mine[best].Text)) == string(normalize(rl.Text)) {
			continue
		}
		got := ""
		if best >= 0 {
			got = mine[best].Text
		}
		fmt.Fprintf(w, "     UNPAIRED ref %q (%.2f) ours %q IoU %.2f\n", rl.Text, rl.Mean, got, bestIoU)
	}
}

func gtBoxes(gt []gtLine) []lineBox {
	out := make([]lineBox, len(gt))
	for i, l := range gt {
		out[i] = lineBox{l.Text, l.Box}
	}
	return out
}
