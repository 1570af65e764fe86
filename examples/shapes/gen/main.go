// Command gen draws the example shapes in examples/shapes: one image of each
// of the 20 classes the bundled tiny-shapes model knows (5 colours × 4
// shapes), plus 4 rotated or blurred variants, from a fixed seed so the
// files are the same on every run.
//
//	go run ./examples/shapes/gen [-out examples/shapes]
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/cliprag/cliprag/embed/tinyshapes"
)

func main() {
	out := flag.String("out", "examples/shapes", "folder to write the images to")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(2024))
	n := 0
	for i, c := range tinyshapes.ClassList() {
		ext := ".png"
		if i%2 == 1 {
			ext = ".jpg"
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-%s%s", c.Color, c.Shape, ext))
		img, err := tinyshapes.Render(rng, c.Color, c.Shape, tinyshapes.DrawOptions{})
		if err != nil {
			return err
		}
		if err := tinyshapes.WriteFile(p, img); err != nil {
			return err
		}
		n++
	}
	variants := []struct {
		color, shape, name string
		opt                tinyshapes.DrawOptions
	}{
		{"red", "circle", "red-circle-blurred.jpg", tinyshapes.DrawOptions{Width: 320, Height: 240, Blur: 2}},
		{"blue", "square", "blue-square-rotated.png", tinyshapes.DrawOptions{Width: 256, Height: 256, Rotate: 30}},
		{"yellow", "triangle", "yellow-triangle-small.png", tinyshapes.DrawOptions{Width: 400, Height: 300, Scale: 0.35}},
		{"green", "cross", "green-cross-wide.jpg", tinyshapes.DrawOptions{Width: 480, Height: 300}},
	}
	for _, v := range variants {
		img, err := tinyshapes.Render(rng, v.color, v.shape, v.opt)
		if err != nil {
			return err
		}
		if err := tinyshapes.WriteFile(filepath.Join(dir, v.name), img); err != nil {
			return err
		}
		n++
	}
	fmt.Printf("wrote %d images to %s\n", n, dir)
	return nil
}
