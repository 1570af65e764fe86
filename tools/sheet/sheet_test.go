package sheet

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/image/font"
)

// embedded returns the embedded font alone, so tests do not depend on the
// machine's fonts.
func embedded(t *testing.T) []Font {
	t.Helper()
	f, err := EmbeddedFont()
	if err != nil {
		t.Fatal(err)
	}
	return []Font{f}
}

func face(t *testing.T, fonts []Font) font.Face {
	t.Helper()
	f, err := NewFace(fonts, DefaultFontSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestGridAndSize(t *testing.T) {
	lh := LineHeight(DefaultFontSize) // 21
	cellH := DefaultThumb + CaptionGap + 2*lh
	tests := []struct {
		n, columns int
		cols, rows int
		w, h       int
	}{
		{1, 0, 1, 1, 2*16 + 224, 2*16 + cellH},
		{2, 0, 2, 1, 2*16 + 2*224 + 16, 2*16 + cellH},
		{4, 0, 2, 2, 2*16 + 2*224 + 16, 2*16 + 2*cellH + 16},
		{5, 0, 3, 2, 2*16 + 3*224 + 2*16, 2*16 + 2*cellH + 16},
		{8, 0, 3, 3, 2*16 + 3*224 + 2*16, 2*16 + 3*cellH + 2*16},
		{10, 0, 4, 3, 2*16 + 4*224 + 3*16, 2*16 + 3*cellH + 2*16},
		{4, 4, 4, 1, 2*16 + 4*224 + 3*16, 2*16 + cellH},
		{3, 9, 3, 1, 2*16 + 3*224 + 2*16, 2*16 + cellH},
	}
	if lh != 21 {
		t.Fatalf("LineHeight(%v) = %d, want 21", DefaultFontSize, lh)
	}
	for _, tt := range tests {
		cols, rows := Grid(tt.n, tt.columns)
		if cols != tt.cols || rows != tt.rows {
			t.Errorf("Grid(%d, %d) = %d×%d, want %d×%d", tt.n, tt.columns, cols, rows, tt.cols, tt.rows)
		}
		if got := Size(tt.n, Options{Columns: tt.columns}); got != image.Pt(tt.w, tt.h) {
			t.Errorf("Size(%d) = %v, want %dx%d", tt.n, got, tt.w, tt.h)
		}
	}
}

// inkIn counts the pixels of r that differ from bg.
func inkIn(img *image.RGBA, r image.Rectangle, bg color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) != bg {
				n++
			}
		}
	}
	return n
}

func TestEmbeddedFontCoversCJK(t *testing.T) {
	fonts := embedded(t)
	for _, s := range []string{"断裂体系叠合图", "构造图", "沉积图", "顶面构造图", "abcXYZ09_-.", "「」、。…", "カタカナ"} {
		for _, r := range s {
			if !HasGlyph(fonts, r) {
				t.Errorf("embedded font has no glyph for %q (U+%04X)", r, r)
			}
		}
	}
	// Level-2 hanzi are left out of the subset: the check must be able to fail.
	if HasGlyph(fonts, '鬯') {
		t.Error("embedded subset unexpectedly has the level-2 hanzi 鬯")
	}
}

func TestRenderCJKDrawsGlyphs(t *testing.T) {
	fonts := embedded(t)
	tiles := []Tile{
		{Text: "断裂体系叠合图", Label: "查询", Name: "顶面构造图.png", Highlight: true},
		{Image: image.NewUniform(color.RGBA{200, 30, 30, 255}), Label: "#1  0.9", Name: "构造图.jpg"},
	}
	// A uniform image has infinite bounds; give it a real one.
	tiles[1].Image = solid(40, 30, color.RGBA{200, 30, 30, 255})
	img, err := Render(tiles, Options{Fonts: fonts})
	if err != nil {
		t.Fatal(err)
	}
	lh := LineHeight(DefaultFontSize)
	for i := range tiles {
		x := Margin + i*(DefaultThumb+Gap)
		y := Margin + DefaultThumb + CaptionGap
		label := image.Rect(x, y, x+DefaultThumb, y+lh)
		name := image.Rect(x, y+lh, x+DefaultThumb, y+2*lh)
		if n := inkIn(img, label, Background); n < 20 {
			t.Errorf("tile %d: label area has %d drawn pixels", i, n)
		}
		if n := inkIn(img, name, Background); n < 40 {
			t.Errorf("tile %d: name area has %d drawn pixels", i, n)
		}
	}
	// The text query box: white inside, with the hanzi drawn in it.
	box := image.Rect(Margin+10, Margin+10, Margin+DefaultThumb-10, Margin+DefaultThumb-10)
	if n := inkIn(img, box, Background); n < 100 {
		t.Errorf("text box has %d drawn pixels", n)
	}
	// Letterboxed 40×30 image in a 224 box: bars above and below.
	x0 := Margin + DefaultThumb + Gap
	if c := img.RGBAAt(x0+DefaultThumb/2, Margin+3); c != BoxColor {
		t.Errorf("letterbox bar is %v, want %v", c, BoxColor)
	}
	if c := img.RGBAAt(x0+DefaultThumb/2, Margin+DefaultThumb/2); c.R < 150 || c.G > 80 {
		t.Errorf("image centre is %v, want red", c)
	}
	// The highlight frame.
	if c := img.RGBAAt(Margin+1, Margin+DefaultThumb/2); c != QueryColor {
		t.Errorf("query frame is %v, want %v", c, QueryColor)
	}
	if os.Getenv("SHEET_KEEP") != "" {
		writeTestPNG(t, img, "cjk.png")
	}
}

// TestRenderBlankLabelStaysBlank is the control for the ink checks above.
func TestRenderBlankLabelStaysBlank(t *testing.T) {
	img, err := Render([]Tile{{Image: solid(10, 10, color.RGBA{0, 0, 255, 255})}}, Options{Fonts: embedded(t)})
	if err != nil {
		t.Fatal(err)
	}
	y := Margin + DefaultThumb + CaptionGap
	r := image.Rect(Margin, y, Margin+DefaultThumb, y+2*LineHeight(DefaultFontSize))
	if n := inkIn(img, r, Background); n != 0 {
		t.Errorf("empty captions drew %d pixels", n)
	}
}

func solid(w, h int, c color.RGBA) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func writeTestPNG(t *testing.T, img image.Image, name string) {
	t.Helper()
	p := filepath.Join(os.TempDir(), "sheet-"+name)
	if err := WritePNG(p, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", p)
}

func TestEllipsize(t *testing.T) {
	f := face(t, embedded(t))
	long := "a-very-long-file-name-that-will-not-fit-断裂体系叠合图-2024.png"
	tests := []struct {
		name   string
		fn     func(font.Face, string, int) string
		s      string
		width  int
		prefix string
		suffix string
	}{
		{"short end", Ellipsize, "abc", 200, "abc", "abc"},
		{"short middle", EllipsizeMiddle, "构造图.png", 200, "构造图.png", "构造图.png"},
		{"end", Ellipsize, long, 150, "a-very", "…"},
		{"middle keeps extension", EllipsizeMiddle, long, 150, "a-very", ".png"},
		{"middle CJK", EllipsizeMiddle, "断裂体系叠合图断裂体系叠合图断裂体系叠合图.jpg", 120, "断裂", "图.jpg"},
		{"tiny width", Ellipsize, long, 1, "…", "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fn(f, tt.s, tt.width)
			if !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, tt.suffix) {
				t.Errorf("got %q, want %q…%q", got, tt.prefix, tt.suffix)
			}
			if w := font.MeasureString(f, got).Ceil(); w > tt.width && got != "…" {
				t.Errorf("%q is %d px wide, more than %d", got, w, tt.width)
			}
			if got != tt.s && !strings.Contains(got, "…") {
				t.Errorf("%q was cut without an ellipsis", got)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	f := face(t, embedded(t))
	tests := []struct {
		s     string
		width int
		min   int // lines at least
	}{
		{"a photo of a red circle", 1000, 1},
		{"a photo of a red circle", 80, 2},
		{"断裂体系叠合图断裂体系叠合图", 60, 3},
		{"supercalifragilisticexpialidocious", 60, 3},
		{"mixed 中文 and English words 构造图", 90, 2},
	}
	for _, tt := range tests {
		lines := Wrap(f, tt.s, tt.width)
		if len(lines) < tt.min {
			t.Errorf("Wrap(%q, %d) = %q: want at least %d lines", tt.s, tt.width, lines, tt.min)
		}
		var all strings.Builder
		for _, l := range lines {
			if w := font.MeasureString(f, l).Ceil(); w > tt.width {
				t.Errorf("Wrap(%q, %d): line %q is %d px", tt.s, tt.width, l, w)
			}
			all.WriteString(l)
		}
		if strip(all.String()) != strip(tt.s) {
			t.Errorf("Wrap(%q) lost text: %q", tt.s, lines)
		}
	}
}

func strip(s string) string { return strings.ReplaceAll(s, " ", "") }

func TestRenderErrors(t *testing.T) {
	fonts := embedded(t)
	tests := []struct {
		name  string
		tiles []Tile
		opt   Options
		want  string
	}{
		{"no tiles", nil, Options{Fonts: fonts}, "no tiles"},
		{"too many", make([]Tile, MaxTiles+1), Options{Fonts: fonts}, "at most"},
		{"huge thumb", []Tile{{}}, Options{Fonts: fonts, Thumb: MaxThumb + 1}, "thumbnail size"},
		{"font too big", []Tile{{}}, Options{Fonts: fonts, Thumb: 40, FontSize: 30}, "font size"},
		{"no fonts", []Tile{{}}, Options{Fonts: []Font{}}, "no fonts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.tiles, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWritePNGRoundTrip(t *testing.T) {
	img, err := Render([]Tile{{Text: "hello 世界", Label: "query"}, {Label: "#1", Name: "x.png"}, {Label: "#2"}}, Options{Fonts: embedded(t), Thumb: 64, FontSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sub", "sheet.png")
	if err := WritePNG(p, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	want := Size(3, Options{Thumb: 64, FontSize: 10})
	if cfg.Width != want.X || cfg.Height != want.Y {
		t.Errorf("PNG is %dx%d, want %v", cfg.Width, cfg.Height, want)
	}
	if err := WritePNG(filepath.Join(p, "under-a-file.png"), img); err == nil {
		t.Error("WritePNG under a regular file succeeded")
	}
}

func TestSystemFontFallsBackToEmbedded(t *testing.T) {
	t.Setenv(FontEnv, filepath.Join(t.TempDir(), "missing.ttf"))
	fonts, err := DefaultFonts()
	if err != nil {
		t.Fatal(err)
	}
	if fonts[len(fonts)-1].Source != EmbeddedFontName {
		t.Errorf("last font is %s, want the embedded one", fonts[len(fonts)-1].Source)
	}
	if !utf8.ValidString(fonts[0].Source) {
		t.Error("bad source name")
	}
	if _, err := LoadFontFile(filepath.Join(t.TempDir(), "nope.ttc")); err == nil {
		t.Error("LoadFontFile of a missing file succeeded")
	}
	bad := filepath.Join(t.TempDir(), "bad.ttf")
	if err := os.WriteFile(bad, []byte("not a font"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFontFile(bad); err == nil {
		t.Error("LoadFontFile of garbage succeeded")
	}
}

func TestSystemFontCollection(t *testing.T) {
	const p = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not installed", p)
	}
	f, err := LoadFontFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Source, "Noto Sans CJK SC") {
		t.Errorf("picked %s, want the SC face", f.Source)
	}
	if !HasGlyph([]Font{f}, '鬯') {
		t.Error("full Noto CJK lacks 鬯")
	}
}
