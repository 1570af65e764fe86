package tinyshapes_test

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/cliprag/cliprag/embed/tinyshapes"
)

func ExampleDraw() {
	rng := rand.New(rand.NewPCG(1, 2))
	img := tinyshapes.Draw(rng, "red", "circle", tinyshapes.DrawOptions{Width: 320, Height: 200, Rotate: 30})
	fmt.Println(img.Bounds())

	dir, err := os.MkdirTemp("", "tinyshapes")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := tinyshapes.WriteFile(filepath.Join(dir, "red-circle.jpg"), img); err != nil {
		fmt.Println(err)
	}
	// Output: (0,0)-(320,200)
}

func ExampleClasses() {
	labels := tinyshapes.Classes()
	fmt.Println(len(labels), labels[0], labels[5], labels[19])
	// Output: 20 red circle green square purple cross
}

func ExampleFS() {
	b, err := fs.ReadFile(tinyshapes.FS, "preprocessor_config.json")
	fmt.Println(len(b) > 0, err)
	// Output: true <nil>
}
