package sheet

import (
	_ "embed" // the fallback font
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// embeddedFont is Noto Sans CJK SC Regular cut down by
// scripts/make_font_subset.sh to ASCII, Latin-1, punctuation, kana,
// full-width forms and the 3755 level-1 hanzi of GB2312 (SIL OFL 1.1; see
// fonts/LICENSE-OFL.txt).
//
//go:embed fonts/NotoSansSC-subset.otf
var embeddedFont []byte

// EmbeddedFontName describes the font compiled into the package.
const EmbeddedFontName = "Noto Sans CJK SC (embedded subset: ASCII, Latin-1, CJK punctuation, kana, GB2312 level-1 hanzi; SIL OFL 1.1)"

// FontEnv names an environment variable that, when set, is the font file
// (.ttf, .otf or .ttc) tried before the system fonts.
const FontEnv = "CLIPRAG_FONT"

// SystemFontPaths are the CJK fonts looked for on the machine, best first:
// Noto Sans CJK / Source Han Sans (Linux), WenQuanYi, Droid Sans Fallback,
// then the macOS and Windows system CJK fonts.
var SystemFontPaths = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
	"/usr/share/fonts/OTF/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/adobe-source-han-sans/SourceHanSansCN-Regular.otf",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/arphic/uming.ttc",
	"/System/Library/Fonts/PingFang.ttc",
	"/System/Library/Fonts/Hiragino Sans GB.ttc",
	"/System/Library/Fonts/STHeiti Light.ttc",
	"/Library/Fonts/Arial Unicode.ttf",
	"/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
	`C:\Windows\Fonts\msyh.ttc`,
	`C:\Windows\Fonts\simhei.ttf`,
	`C:\Windows\Fonts\simsun.ttc`,
}

// Font is a parsed font and where it came from.
type Font struct {
	*sfnt.Font
	Source string // file path, or EmbeddedFontName
}

var (
	embeddedOnce sync.Once
	embeddedF    *sfnt.Font
	embeddedErr  error
)

// EmbeddedFont returns the CJK font compiled into the package.
func EmbeddedFont() (Font, error) {
	embeddedOnce.Do(func() {
		embeddedF, embeddedErr = opentype.Parse(embeddedFont)
		if embeddedErr != nil {
			embeddedErr = fmt.Errorf("embedded font: %w", embeddedErr)
		}
	})
	return Font{Font: embeddedF, Source: EmbeddedFontName}, embeddedErr
}

// LoadFontFile parses a .ttf, .otf or .ttc file. From a collection it picks
// the Simplified Chinese face when there is one (a name with " SC", "GB" or
// "Simplified"), else the first face that is not monospaced.
func LoadFontFile(path string) (Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Font{}, fmt.Errorf("font %s: %w", path, err)
	}
	if !strings.EqualFold(filepath.Ext(path), ".ttc") && !strings.EqualFold(filepath.Ext(path), ".otc") {
		f, err := opentype.Parse(data)
		if err != nil {
			return Font{}, fmt.Errorf("font %s: %w", path, err)
		}
		return Font{Font: f, Source: path}, nil
	}
	c, err := opentype.ParseCollection(data)
	if err != nil {
		return Font{}, fmt.Errorf("font %s: %w", path, err)
	}
	var first *sfnt.Font
	for i := 0; i < c.NumFonts(); i++ {
		f, err := c.Font(i)
		if err != nil {
			continue
		}
		name, _ := f.Name(nil, sfnt.NameIDFamily)
		if strings.Contains(name, "Mono") {
			continue
		}
		if strings.Contains(name, " SC") || strings.Contains(name, "GB") || strings.Contains(name, "Simplified") {
			return Font{Font: f, Source: fmt.Sprintf("%s (%s)", path, name)}, nil
		}
		if first == nil {
			first = f
		}
	}
	if first == nil {
		return Font{}, fmt.Errorf("font %s: no usable face in the collection", path)
	}
	name, _ := first.Name(nil, sfnt.NameIDFamily)
	return Font{Font: first, Source: fmt.Sprintf("%s (%s)", path, name)}, nil
}

// SystemFont returns the first font that parses among $CLIPRAG_FONT and
// SystemFontPaths, or an error when the machine has none.
func SystemFont() (Font, error) {
	paths := SystemFontPaths
	if p := os.Getenv(FontEnv); p != "" {
		paths = append([]string{p}, paths...)
	}
	if runtime.GOOS == "windows" {
		if dir := os.Getenv("WINDIR"); dir != "" {
			for _, n := range []string{"msyh.ttc", "simhei.ttf", "simsun.ttc"} {
				paths = append(paths, filepath.Join(dir, "Fonts", n))
			}
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if f, err := LoadFontFile(p); err == nil {
			return f, nil
		}
	}
	return Font{}, errors.New("no CJK font found on this machine")
}

// DefaultFonts returns the fonts a sheet draws with: the system CJK font
// when there is one, then the embedded subset for anything it lacks (or
// alone).
func DefaultFonts() ([]Font, error) {
	emb, err := EmbeddedFont()
	if err != nil {
		return nil, err
	}
	if sys, err := SystemFont(); err == nil {
		return []Font{sys, emb}, nil
	}
	return []Font{emb}, nil
}

// NewFace returns a face of size pixels that draws each rune with the first
// of fonts that has a glyph for it (the first font when none has). It is
// not safe for concurrent use.
func NewFace(fonts []Font, size float64) (font.Face, error) {
	if len(fonts) == 0 {
		return nil, errors.New("sheet: no fonts")
	}
	m := &multiFace{}
	for _, f := range fonts {
		face, err := opentype.NewFace(f.Font, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return nil, fmt.Errorf("font %s: %w", f.Source, err)
		}
		m.fonts = append(m.fonts, f.Font)
		m.faces = append(m.faces, face)
	}
	return m, nil
}

// multiFace is a font.Face falling back from font to font by rune.
type multiFace struct {
	fonts []*sfnt.Font
	faces []font.Face
	buf   sfnt.Buffer
}

func (m *multiFace) pick(r rune) font.Face {
	for i, f := range m.fonts {
		if g, err := f.GlyphIndex(&m.buf, r); err == nil && g != 0 {
			return m.faces[i]
		}
	}
	return m.faces[0]
}

func (m *multiFace) Close() error {
	var first error
	for _, f := range m.faces {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m *multiFace) Glyph(dot fixed.Point26_6, r rune) (image.Rectangle, image.Image, image.Point, fixed.Int26_6, bool) {
	return m.pick(r).Glyph(dot, r)
}

func (m *multiFace) GlyphBounds(r rune) (fixed.Rectangle26_6, fixed.Int26_6, bool) {
	return m.pick(r).GlyphBounds(r)
}

func (m *multiFace) GlyphAdvance(r rune) (fixed.Int26_6, bool) {
	return m.pick(r).GlyphAdvance(r)
}

func (m *multiFace) Kern(r0, r1 rune) fixed.Int26_6 {
	f0, f1 := m.pick(r0), m.pick(r1)
	if f0 != f1 {
		return 0
	}
	return f0.Kern(r0, r1)
}

func (m *multiFace) Metrics() font.Metrics { return m.faces[0].Metrics() }

// HasGlyph reports whether any of fonts has a glyph for r.
func HasGlyph(fonts []Font, r rune) bool {
	var buf sfnt.Buffer
	for _, f := range fonts {
		if g, err := f.GlyphIndex(&buf, r); err == nil && g != 0 {
			return true
		}
	}
	return false
}
