// Package sheet renders contact sheets: a grid of letterboxed thumbnails
// (or text boxes) with two caption lines under each, as PNG. rag-search
// uses it to show a query and its top-k results in one picture.
//
// Text is drawn with a CJK-capable font: the system's (Noto Sans CJK,
// WenQuanYi, Droid Sans Fallback, PingFang, Microsoft YaHei, ...) when
// there is one, and a subset of Noto Sans CJK SC compiled into the package
// for whatever the system font lacks or when there is none, so Chinese
// labels and file names render everywhere.
//
// Geometry, in pixels: a Margin around the sheet and a Gap between cells;
// each cell is Thumb wide and Thumb+CaptionGap+2·LineHeight tall (the
// thumbnail box, then the Label line and the Name line). With n tiles the
// grid has ceil(sqrt(n)) columns unless Options.Columns says otherwise.
package sheet

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// Layout constants and defaults.
const (
	DefaultThumb    = 224  // side of the thumbnail box
	DefaultFontSize = 15.0 // caption font size in pixels
	Margin          = 16   // around the sheet
	Gap             = 16   // between cells
	CaptionGap      = 6    // between the thumbnail box and the first caption line
	MaxTiles        = 1000 // Render refuses more
	MaxThumb        = 1024 // largest Options.Thumb
)

// Colours.
var (
	Background = color.RGBA{0xff, 0xff, 0xff, 0xff}
	BoxColor   = color.RGBA{0xee, 0xee, 0xee, 0xff} // letterbox bars and empty boxes
	TextColor  = color.RGBA{0x20, 0x20, 0x20, 0xff}
	DimColor   = color.RGBA{0x60, 0x60, 0x60, 0xff} // the Name line
	QueryColor = color.RGBA{0x1f, 0x6f, 0xd0, 0xff} // frame of highlighted tiles
)

// Tile is one cell of a sheet.
type Tile struct {
	// Image is the picture, letterboxed into the thumbnail box. When nil,
	// Text is drawn in the box instead (a text query), or "no image".
	Image image.Image
	// Text fills the box when Image is nil; it is wrapped and, if still too
	// long, cut with an ellipsis.
	Text string
	// Label is the first caption line ("#1  0.3124"), cut at the end with
	// an ellipsis when too wide.
	Label string
	// Name is the second caption line, usually a file name; when too wide
	// its middle is replaced by an ellipsis so the start and the extension
	// stay visible.
	Name string
	// Highlight frames the box (the query).
	Highlight bool
}

// Options controls Render. The zero value uses the defaults.
type Options struct {
	Thumb    int     // thumbnail box side; 0: DefaultThumb
	Columns  int     // 0: ceil(sqrt(number of tiles))
	FontSize float64 // 0: DefaultFontSize
	// Fonts draw the text, first font first per rune; nil: DefaultFonts().
	Fonts []Font
}

func (o Options) withDefaults() Options {
	if o.Thumb <= 0 {
		o.Thumb = DefaultThumb
	}
	if o.FontSize <= 0 {
		o.FontSize = DefaultFontSize
	}
	return o
}

// LineHeight is the height of one caption line for a font size.
func LineHeight(fontSize float64) int { return int(math.Ceil(fontSize * 1.4)) }

// Grid returns the columns and rows for n tiles: columns is used when
// positive (at most n), else ceil(sqrt(n)).
func Grid(n, columns int) (cols, rows int) {
	if n <= 0 {
		return 0, 0
	}
	cols = columns
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows = (n + cols - 1) / cols
	return cols, rows
}

// Size returns the pixel size of a sheet of n tiles.
func Size(n int, opt Options) image.Point {
	opt = opt.withDefaults()
	cols, rows := Grid(n, opt.Columns)
	if n <= 0 {
		return image.Point{}
	}
	cellH := opt.Thumb + CaptionGap + 2*LineHeight(opt.FontSize)
	return image.Pt(2*Margin+cols*opt.Thumb+(cols-1)*Gap, 2*Margin+rows*cellH+(rows-1)*Gap)
}

// Render draws tiles, in order, left to right and top to bottom.
func Render(tiles []Tile, opt Options) (*image.RGBA, error) {
	if len(tiles) == 0 {
		return nil, errors.New("sheet: no tiles")
	}
	if len(tiles) > MaxTiles {
		return nil, fmt.Errorf("sheet: %d tiles; at most %d", len(tiles), MaxTiles)
	}
	opt = opt.withDefaults()
	if opt.Thumb > MaxThumb {
		return nil, fmt.Errorf("sheet: thumbnail size %d; at most %d", opt.Thumb, MaxThumb)
	}
	if opt.FontSize > float64(opt.Thumb)/2 {
		return nil, fmt.Errorf("sheet: font size %v too large for %d px thumbnails", opt.FontSize, opt.Thumb)
	}
	fonts := opt.Fonts
	if fonts == nil {
		var err error
		if fonts, err = DefaultFonts(); err != nil {
			return nil, err
		}
	}
	face, err := NewFace(fonts, opt.FontSize)
	if err != nil {
		return nil, err
	}
	defer face.Close()
	big, err := NewFace(fonts, opt.FontSize*1.4) // text in boxes
	if err != nil {
		return nil, err
	}
	defer big.Close()

	size := Size(len(tiles), opt)
	dst := image.NewRGBA(image.Rectangle{Max: size})
	draw.Draw(dst, dst.Bounds(), image.NewUniform(Background), image.Point{}, draw.Src)
	cols, _ := Grid(len(tiles), opt.Columns)
	lh := LineHeight(opt.FontSize)
	cellH := opt.Thumb + CaptionGap + 2*lh
	for i, t := range tiles {
		x := Margin + (i%cols)*(opt.Thumb+Gap)
		y := Margin + (i/cols)*(cellH+Gap)
		box := image.Rect(x, y, x+opt.Thumb, y+opt.Thumb)
		draw.Draw(dst, box, image.NewUniform(BoxColor), image.Point{}, draw.Src)
		switch {
		case t.Image != nil && !t.Image.Bounds().Empty():
			letterbox(dst, box, t.Image)
		case t.Text != "":
			draw.Draw(dst, box.Inset(1), image.NewUniform(Background), image.Point{}, draw.Src)
			textBox(dst, box.Inset(10), big, t.Text, LineHeight(opt.FontSize*1.4))
		default:
			centred(dst, box, face, "no image", DimColor)
		}
		if t.Highlight {
			frame(dst, box, 3, QueryColor)
		}
		ascent := face.Metrics().Ascent.Ceil()
		base := y + opt.Thumb + CaptionGap + ascent
		drawText(dst, face, x, base, Ellipsize(face, t.Label, opt.Thumb), TextColor)
		drawText(dst, face, x, base+lh, EllipsizeMiddle(face, t.Name, opt.Thumb), DimColor)
	}
	return dst, nil
}

// letterbox scales img to fit box, keeping its aspect ratio, and centres it.
func letterbox(dst *image.RGBA, box image.Rectangle, img image.Image) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	bw, bh := box.Dx(), box.Dy()
	tw, th := bw, bh
	if w*bh > h*bw { // wider than the box
		th = max(1, (h*bw+w/2)/w)
	} else {
		tw = max(1, (w*bh+h/2)/h)
	}
	x := box.Min.X + (bw-tw)/2
	y := box.Min.Y + (bh-th)/2
	r := image.Rect(x, y, x+tw, y+th)
	// White under transparent pixels, like a viewer.
	draw.Draw(dst, r, image.NewUniform(Background), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, r, img, b, draw.Over, nil)
}

// frame draws a border of width px just inside r.
func frame(dst *image.RGBA, r image.Rectangle, px int, c color.Color) {
	u := image.NewUniform(c)
	draw.Draw(dst, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+px), u, image.Point{}, draw.Src)
	draw.Draw(dst, image.Rect(r.Min.X, r.Max.Y-px, r.Max.X, r.Max.Y), u, image.Point{}, draw.Src)
	draw.Draw(dst, image.Rect(r.Min.X, r.Min.Y, r.Min.X+px, r.Max.Y), u, image.Point{}, draw.Src)
	draw.Draw(dst, image.Rect(r.Max.X-px, r.Min.Y, r.Max.X, r.Max.Y), u, image.Point{}, draw.Src)
}

func drawText(dst *image.RGBA, face font.Face, x, baseline int, s string, c color.Color) {
	if s == "" {
		return
	}
	d := &font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, baseline)}
	d.DrawString(s)
}

// centred draws one line in the middle of r.
func centred(dst *image.RGBA, r image.Rectangle, face font.Face, s string, c color.Color) {
	s = Ellipsize(face, s, r.Dx())
	w := font.MeasureString(face, s).Ceil()
	m := face.Metrics()
	y := r.Min.Y + (r.Dy()+m.Ascent.Ceil()-m.Descent.Ceil())/2
	drawText(dst, face, r.Min.X+(r.Dx()-w)/2, y, s, c)
}

// textBox wraps s into r, centred vertically, cutting it with an ellipsis
// when it does not fit.
func textBox(dst *image.RGBA, r image.Rectangle, face font.Face, s string, lh int) {
	maxLines := max(1, r.Dy()/lh)
	lines := Wrap(face, s, r.Dx())
	if len(lines) > maxLines {
		last := strings.Join(lines[maxLines-1:], " ")
		lines = append(lines[:maxLines-1], Ellipsize(face, last+"…", r.Dx()))
	}
	ascent := face.Metrics().Ascent.Ceil()
	y := r.Min.Y + (r.Dy()-len(lines)*lh)/2 + ascent
	for _, l := range lines {
		w := font.MeasureString(face, l).Ceil()
		drawText(dst, face, r.Min.X+(r.Dx()-w)/2, y, l, TextColor)
		y += lh
	}
}

// Wrap breaks s into lines no wider than width pixels: at spaces between
// words, and between any two characters of CJK text or of a word that is
// too long for a line.
func Wrap(face font.Face, s string, width int) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		var line []rune
		flush := func() {
			lines = append(lines, strings.TrimSpace(string(line)))
			line = line[:0]
		}
		for _, word := range splitWords(para) {
			cand := append(append([]rune(nil), line...), word...)
			if len(line) == 0 || fits(face, string(cand), width) {
				line = cand
			} else {
				flush()
				line = append(line, []rune(strings.TrimLeft(string(word), " "))...)
			}
			// A single word wider than the line: break it by characters.
			for !fits(face, string(line), width) && len(line) > 1 {
				n := len(line) - 1
				for n > 1 && !fits(face, string(line[:n]), width) {
					n--
				}
				rest := append([]rune(nil), line[n:]...)
				line = line[:n]
				flush()
				line = append(line, rest...)
			}
		}
		flush()
	}
	return lines
}

// splitWords splits at spaces (keeping each space with the word after it)
// and makes every CJK character a word of its own.
func splitWords(s string) [][]rune {
	var words [][]rune
	var cur []rune
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t':
			if len(cur) > 0 {
				words = append(words, cur)
			}
			cur = []rune{' '}
		case isWide(r):
			if len(cur) > 0 && string(cur) != " " {
				words = append(words, cur)
				cur = nil
			}
			words = append(words, append(cur, r))
			cur = nil
		default:
			cur = append(cur, r)
		}
	}
	if len(cur) > 0 {
		words = append(words, cur)
	}
	return words
}

func isWide(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
}

func fits(face font.Face, s string, width int) bool {
	return font.MeasureString(face, s).Ceil() <= width
}

// Ellipsize returns s, or its longest prefix followed by "…" that fits in
// width pixels.
func Ellipsize(face font.Face, s string, width int) string {
	if fits(face, s, width) {
		return s
	}
	r := []rune(s)
	for n := len(r) - 1; n > 0; n-- {
		if c := strings.TrimRight(string(r[:n]), " ") + "…"; fits(face, c, width) {
			return c
		}
	}
	return "…"
}

// EllipsizeMiddle returns s, or s with its middle replaced by "…" so that
// it fits in width pixels, keeping a little more of the end (the file
// extension and the distinguishing suffix) than of the start.
func EllipsizeMiddle(face font.Face, s string, width int) string {
	if fits(face, s, width) {
		return s
	}
	r := []rune(s)
	for keep := len(r) - 1; keep > 0; keep-- {
		head := keep / 2
		tail := keep - head
		c := string(r[:head]) + "…" + string(r[len(r)-tail:])
		if fits(face, c, width) {
			return c
		}
	}
	return "…"
}

// WritePNG writes img to path as PNG, creating its folder.
func WritePNG(path string, img image.Image) (err error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
	}()
	if err := png.Encode(f, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
