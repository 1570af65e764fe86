package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/cliprag/cliprag/embed/ocr"
)

// engine is one engine's results over the set.
type engine struct {
	name string
	res  map[string]result
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	set := fs.String("set", "", "image folder with manifest.jsonl")
	oursF := fs.String("ours", "", "embed/ocr results")
	tessF := fs.String("tess", "", "Tesseract results")
	refF := fs.String("ref", "", "reference pipeline results (reference.mjs)")
	commands := fs.String("commands", "", "file with the commands that produced the results")
	env := fs.String("env", "", "one line describing the machine and load")
	invocation := fs.String("invocation", "scripts/bench.sh ocr", "command that regenerates the section")
	minIoU := fs.Float64("iou", 0.8, "box IoU for parity")
	details := fs.String("details", "", "also write per-image differences to this file")
	threads := fs.Int("threads", 2, "embed/ocr's threads in the run (for the text)")
	ours2F := fs.String("ours2", "", "results of a second embed/ocr configuration (optional)")
	ours2Name := fs.String("ours2-name", "embed/ocr, other options", "its name in the tables")
	fs.Parse(args)
	entries, err := readManifest(*set)
	if err != nil {
		return err
	}
	ours, err := readResults(*oursF)
	if err != nil {
		return err
	}
	tess := map[string]result{}
	if *tessF != "" {
		if tess, err = readResults(*tessF); err != nil {
			return err
		}
	}
	refs, err := readRefs(*refF)
	if err != nil {
		return err
	}
	var cmds string
	if *commands != "" {
		b, err := os.ReadFile(*commands)
		if err != nil {
			return err
		}
		cmds = string(b)
	}
	r := report{entries: entries, engines: []engine{{"cliprag embed/ocr (PP-OCRv4)", ours}, {"Tesseract 5 (chi_sim+eng)", tess}},
		refs: refs, minIoU: *minIoU, threads: *threads}
	if *ours2F != "" {
		o2, err := readResults(*ours2F)
		if err != nil {
			return err
		}
		r.engines = append(r.engines, engine{*ours2Name, o2})
	}
	r.write(os.Stdout, *env, cmds, *invocation)
	if *details != "" {
		fh, err := os.Create(*details)
		if err != nil {
			return err
		}
		r.writeDetails(fh)
		return fh.Close()
	}
	return nil
}

func readRefs(path string) (map[string]refResult, error) {
	out := map[string]refResult{}
	if path == "" {
		return out, nil
	}
	err := readJSONL(path, func(b []byte) error {
		var r refResult
		if err := jsonUnmarshal(b, &r); err != nil {
			return err
		}
		out[r.File] = r
		return nil
	})
	return out, err
}

type report struct {
	entries []entry
	engines []engine
	refs    map[string]refResult
	minIoU  float64
	threads int
}

func (r report) kinds() []string {
	var ks []string
	for _, e := range r.entries {
		if !slices.Contains(ks, e.Kind) {
			ks = append(ks, e.Kind)
		}
	}
	return ks
}

// counts sums the CER counts of an engine over the images of kind ("" for
// every kind).
func (r report) counts(en engine, kind string, spaced bool) cerCounts {
	c := newCounts()
	for _, e := range r.entries {
		if kind != "" && e.Kind != kind {
			continue
		}
		c.add(imageCER(e.Lines, en.res[e.File].Lines, spaced))
	}
	return c
}

// secondsPer is the mean seconds per image of an engine over the images
// whose size, in megapixels, is in [lo, hi).
func (r report) secondsPer(en engine, lo, hi float64) (float64, int) {
	var sum float64
	n := 0
	for _, e := range r.entries {
		mp := float64(e.Width*e.Height) / 1e6
		if mp < lo || mp >= hi {
			continue
		}
		sum += en.res[e.File].TotalMS / 1000
		n++
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), n
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.2f %%", 100*v)
}

func (r report) write(w io.Writer, env, cmds, invocation string) {
	fmt.Fprintf(w, "## OCR: embed/ocr against Tesseract 5 and the reference pipeline\n\n")
	fmt.Fprintf(w, "Regenerate with `%s`. %s\n\n", invocation, env)
	byKind := map[string]int{}
	mp1 := 0
	for _, e := range r.entries {
		byKind[e.Kind]++
		if mp := float64(e.Width*e.Height) / 1e6; mp >= 0.75 && mp < 1.1 {
			mp1++
		}
	}
	var parts []string
	for _, k := range r.kinds() {
		parts = append(parts, fmt.Sprintf("%d %s", byKind[k], k))
	}
	fmt.Fprintf(w, "The set: %d images rendered by `scripts/ocr/gen_images.py` (%s; %d of 0.75–1.1 megapixels). "+
		"CER is the edit distance between the normalised (NFKC, white space removed) text of all lines in reading order and the ground truth, "+
		"over the ground truth's characters, charged to the language of the ground-truth line the error falls in.\n\n",
		len(r.entries), strings.Join(parts, ", "), mp1)
	r.writeSummary(w)
	r.writeKinds(w)
	r.writeTimes(w)
	r.writeParity(w)
	r.writeNoText(w)
	if cmds != "" {
		fmt.Fprintf(w, "Commands (`$W` is a temporary folder):\n\n```sh\n%s```\n", cmds)
	}
}

func (r report) writeSummary(w io.Writer) {
	fmt.Fprintf(w, "| engine | Chinese CER | English CER | English CER, spaces counted | s/image, all | s/image, 0.75–1.1 MP | s/megapixel |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var cer [2][2]float64
	for i, en := range r.engines {
		c, sp := r.counts(en, "", false), r.counts(en, "", true)
		all, _ := r.secondsPer(en, 0, math.Inf(1))
		one, _ := r.secondsPer(en, 0.75, 1.1)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.3f | %.3f | %.3f |\n", en.name, pct(c.cer("zh")), pct(c.cer("en")), pct(sp.cer("en")), all, one, r.perMegapixel(en))
		if i < 2 {
			cer[i] = [2]float64{c.cer("zh"), c.cer("en")}
		}
	}
	if len(r.refs) > 0 {
		var sum float64
		for _, v := range r.refs {
			sum += v.MS / 1000
		}
		ref := engine{name: "reference @gutenye/ocr-node 1.4.8 (Node)", res: map[string]result{}}
		for k, v := range r.refs {
			pl := make([]predLine, len(v.Lines))
			e := r.entry(k)
			for i, l := range v.Lines {
				pl[i] = predLine{Text: l.Text, Conf: l.Mean, Box: refToOriginal(l.Box, e.Width, e.Height)}
			}
			ref.res[k] = result{File: k, Lines: pl, TotalMS: v.MS}
		}
		c, sp := r.counts(ref, "", false), r.counts(ref, "", true)
		one, _ := r.secondsPer(ref, 0.75, 1.1)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.3f | %.3f | %.3f |\n", ref.name, pct(c.cer("zh")), pct(c.cer("en")), pct(sp.cer("en")), sum/float64(len(r.refs)), one, r.perMegapixel(ref))
	}
	one, n := r.secondsPer(r.engines[0], 0.75, 1.1)
	fmt.Fprintf(w, "\nGoals: Chinese CER at most half of Tesseract's: %s (%.2f %% against %.2f %%); English CER no worse: %s (%.2f %% against %.2f %%); "+
		"under 0.5 s per 1-megapixel image on 2 cores: %s (%.3f s, the mean over the %d images of 0.75–1.1 megapixels; %.3f s per megapixel over the set).\n\n",
		yes(cer[0][0] <= cer[1][0]/2), 100*cer[0][0], 100*cer[1][0], yes(cer[0][1] <= cer[1][1]), 100*cer[0][1], 100*cer[1][1],
		yes(n > 0 && one < 0.5), one, n, r.perMegapixel(r.engines[0]))
}

// perMegapixel is an engine's total seconds over the set's total
// megapixels.
func (r report) perMegapixel(en engine) float64 {
	var sec, mp float64
	for _, e := range r.entries {
		res, ok := en.res[e.File]
		if !ok {
			continue
		}
		sec += res.TotalMS / 1000
		mp += float64(e.Width*e.Height) / 1e6
	}
	if mp == 0 {
		return math.NaN()
	}
	return sec / mp
}

func yes(b bool) string {
	if b {
		return "**met**"
	}
	return "**not met**"
}

func (r report) entry(file string) entry {
	for _, e := range r.entries {
		if e.File == file {
			return e
		}
	}
	return entry{}
}

func (r report) writeKinds(w io.Writer) {
	fmt.Fprintf(w, "CER by kind of image (Chinese / English):\n\n| kind | images |")
	for _, en := range r.engines {
		fmt.Fprintf(w, " %s |", en.name)
	}
	fmt.Fprintf(w, "\n| --- | ---: |%s\n", strings.Repeat(" ---: |", len(r.engines)))
	for _, k := range r.kinds() {
		n := 0
		for _, e := range r.entries {
			if e.Kind == k {
				n++
			}
		}
		if k == "notext" {
			continue
		}
		fmt.Fprintf(w, "| %s | %d |", k, n)
		for _, en := range r.engines {
			c := r.counts(en, k, false)
			fmt.Fprintf(w, " %s / %s |", pct(c.cer("zh")), pct(c.cer("en")))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// writeTimes shows embed/ocr's time per image split into detection,
// classification and recognition, by image size.
func (r report) writeTimes(w io.Writer) {
	ours := r.engines[0]
	buckets := []struct {
		name   string
		lo, hi float64
	}{{"under 0.25 MP", 0, 0.25}, {"0.25–0.75 MP", 0.25, 0.75}, {"0.75–1.1 MP", 0.75, 1.1}, {"all", 0, math.Inf(1)}}
	fmt.Fprintf(w, "embed/ocr time per image (median of the passes per image, then the mean over the images; %d threads on %d cores):\n\n", r.threads, runtime.NumCPU())
	tess := r.engines[1]
	fmt.Fprintf(w, "| images | n | lines/image | detection ms | recognition ms | total ms | Tesseract total ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, b := range buckets {
		var det, rec, tot, lines, tt float64
		n := 0
		for _, e := range r.entries {
			mp := float64(e.Width*e.Height) / 1e6
			if mp < b.lo || mp >= b.hi {
				continue
			}
			res := ours.res[e.File]
			det += res.DetMS
			rec += res.RecMS + res.ClsMS
			tot += res.TotalMS
			tt += tess.res[e.File].TotalMS
			lines += float64(len(res.Lines))
			n++
		}
		if n == 0 {
			continue
		}
		f := float64(n)
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |\n", b.name, n, lines/f, det/f, rec/f, tot/f, tt/f)
	}
	fmt.Fprintf(w, "\nDetection includes the conversion, the resize and the post-processing; recognition the crops, the model runs and the decoding; the total adds decoding the file.\n\n")
}

func (r report) writeParity(w io.Writer) {
	if len(r.refs) == 0 {
		return
	}
	share := func(n, d int) string {
		return fmt.Sprintf("%d of %d (%.1f %%)", n, d, 100*float64(n)/math.Max(float64(d), 1))
	}
	fmt.Fprintf(w, "Parity with the reference pipeline (@gutenye/ocr-node 1.4.8 on the same images; its lines on one row merged as it merges them, our lines merged the same way, its boxes mapped back to the original pixels). "+
		"The reference detects on the whole image (sides rounded up to multiples of 32), embed/ocr by default on the image reduced to a longer side of %d, so the images are also counted apart by size. "+
		"The reference also departs from PaddleOCR's pipeline, which embed/ocr follows: its detection input is scaled to [0, 1] without ImageNet's mean and deviation, "+
		"binarised at 0.03 (PaddleOCR: 0.3) with no box score filter, and its lines are cropped tightly and resized with Lanczos to [0, 1]; it loses many spaces between English words "+
		"(see the spaces-counted CER above), so exact text equality counts our spaces against us.\n\n", ocr.DefaultLimitSide)
	for i, en := range r.engines {
		if i == 1 {
			continue // Tesseract
		}
		var all, small, large parity
		for _, e := range r.entries {
			ref, ok := r.refs[e.File]
			if !ok {
				continue
			}
			p := compareRef(ref.Lines, en.res[e.File].Lines, e.Width, e.Height, r.minIoU)
			all.add(p)
			if max(e.Width, e.Height) <= ocr.DefaultLimitSide {
				small.add(p)
			} else {
				large.add(p)
			}
		}
		fmt.Fprintf(w, "%s:\n\n", en.name)
		fmt.Fprintf(w, "- lines with the same text and a box IoU ≥ %.1f: %s of the distinct lines of both outputs (%d reference lines, %d of ours); "+
			"images with a longer side ≤ %d: %s; larger images: %s\n",
			r.minIoU, share(all.both, all.lines()), all.ref, all.ours, ocr.DefaultLimitSide, share(small.both, small.lines()), share(large.both, large.lines()))
		loose := func(p parity) string { return share(p.bothLoose, p.ref+p.ours-p.bothLoose) }
		fmt.Fprintf(w, "- the same, texts compared without white space (NFKC): %s; longer side ≤ %d: %s; larger: %s\n", loose(all), ocr.DefaultLimitSide, loose(small), loose(large))
		fmt.Fprintf(w, "- reference lines whose text we also output: %s\n", share(all.sameText, all.ref))
		fmt.Fprintf(w, "- reference lines with one of our boxes at IoU ≥ %.1f: %s\n\n", r.minIoU, share(all.sameBox, all.ref))
	}
}

func (r report) writeNoText(w io.Writer) {
	fmt.Fprintf(w, "Images without text (kind notext): ")
	var parts []string
	for _, en := range r.engines {
		imgs, lines, n := 0, 0, 0
		for _, e := range r.entries {
			if e.Kind != "notext" {
				continue
			}
			n++
			if l := len(en.res[e.File].Lines); l > 0 {
				imgs++
				lines += l
			}
		}
		parts = append(parts, fmt.Sprintf("%s found text in %d of %d (%d lines)", en.name, imgs, n, lines))
	}
	fmt.Fprintf(w, "%s.\n\n", strings.Join(parts, "; "))
}
