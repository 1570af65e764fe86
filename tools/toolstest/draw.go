package toolstest

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// Image is one drawn image.
type Image struct {
	Path          string
	Class         string // "red circle"
	Color, Shape  string
	Width, Height int
	MIME          string // "image/png" or "image/jpeg"
}

// DrawOptions says which images DrawSet draws and where. The zero value
// draws one PNG of each class, in the order of tinyshapes.ClassList, named
// "red-circle.png" and so on, with math/rand seeded with 0 and
// tinyshapes' random sizes and backgrounds.
type DrawOptions struct {
	// Rand is the randomness; nil uses math/rand seeded with Seed. Pass
	// one to go on drawing from it after DrawSet.
	Rand tinyshapes.Rand
	Seed int64
	// ShapeMajor orders the classes shape by shape (red circle, green
	// circle, …) rather than colour by colour (red circle, red square, …).
	ShapeMajor bool
	// PerClass is how many images of each class are drawn one after the
	// other (default 1). The default names then end in "-1", "-2", ….
	PerClass int
	// Count, when positive, draws this many images, cycling through the
	// classes; otherwise each class is drawn PerClass times.
	Count int
	// JPEG makes every second image (index 1, 3, …) a JPEG; the rest are
	// PNG.
	JPEG bool
	// Nest, when set, puts every third image (index 2, 5, …) into this
	// sub-folder of the folder it would be in.
	Nest string
	// ByShape puts each image into a sub-folder named after its shape.
	ByShape bool
	// Name returns the file name, without extension, of image i of class
	// c; nil gives "red-circle" (or "red-circle-2" with PerClass > 1).
	Name func(i int, c tinyshapes.Class) string
	// Size returns the width and height of image i; nil uses Draw's.
	Size func(i int) (width, height int)
	// Draw is what every image is rendered with (Size overrides its
	// Width and Height).
	Draw tinyshapes.DrawOptions
}

// DrawSet draws images of the tiny model's domain into dir as opt says,
// creating the folders it needs, and returns them in the order drawn.
func DrawSet(dir string, opt DrawOptions) ([]Image, error) {
	rng := opt.Rand
	if rng == nil {
		rng = rand.New(rand.NewSource(opt.Seed))
	}
	per := max(opt.PerClass, 1)
	var order []tinyshapes.Class
	if opt.ShapeMajor {
		for _, s := range tinyshapes.Shapes {
			for _, c := range tinyshapes.Colors {
				order = append(order, tinyshapes.Class{Color: c, Shape: s})
			}
		}
	} else {
		order = tinyshapes.ClassList()
	}
	n := opt.Count
	if n <= 0 {
		n = len(order) * per
	}
	out := make([]Image, 0, n)
	for i := range n {
		c := order[(i/per)%len(order)]
		folder := dir
		if opt.ByShape {
			folder = filepath.Join(folder, c.Shape)
		}
		if opt.Nest != "" && i%3 == 2 {
			folder = filepath.Join(folder, opt.Nest)
		}
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return nil, fmt.Errorf("draw set: %w", err)
		}
		ext, mime := ".png", "image/png"
		if opt.JPEG && i%2 == 1 {
			ext, mime = ".jpg", "image/jpeg"
		}
		name := c.Color + "-" + c.Shape
		switch {
		case opt.Name != nil:
			name = opt.Name(i, c)
		case per > 1:
			name += "-" + strconv.Itoa(i%per+1)
		}
		d := opt.Draw
		if opt.Size != nil {
			d.Width, d.Height = opt.Size(i)
		}
		img, err := tinyshapes.Render(rng, c.Color, c.Shape, d)
		if err != nil {
			return nil, fmt.Errorf("draw %s: %w", c, err)
		}
		im := Image{
			Path: filepath.Join(folder, name+ext), Class: c.String(), Color: c.Color, Shape: c.Shape,
			Width: img.Bounds().Dx(), Height: img.Bounds().Dy(), MIME: mime,
		}
		if err := tinyshapes.WriteFile(im.Path, img); err != nil {
			return nil, fmt.Errorf("draw %s: %w", c, err)
		}
		out = append(out, im)
	}
	return out, nil
}

// Draw is DrawSet for a test, which fails when drawing fails.
func Draw(t testing.TB, dir string, opt DrawOptions) []Image {
	t.Helper()
	images, err := DrawSet(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return images
}
