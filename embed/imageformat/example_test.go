package imageformat_test

import (
	"fmt"

	"github.com/cliprag/cliprag/embed/imageformat"
)

func ExampleByExtension() {
	f, ok := imageformat.ByExtension(".JPG")
	fmt.Println(ok, f.Name, f.MIMEType, f.Displayable)
	f, _ = imageformat.ByExtension("tif")
	fmt.Println(f.Name, f.MIMEType, f.Displayable)
	// Output:
	// true jpeg image/jpeg true
	// tiff image/tiff false
}
