package imageformat

import (
	"image"
	"strings"
	"testing"
)

// withTable runs the test against a table holding only fs.
func withTable(t *testing.T, fs ...Format) {
	t.Helper()
	mu.Lock()
	saved := formats
	formats = nil
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		formats = saved
		mu.Unlock()
	})
	for _, f := range fs {
		Register(f)
	}
}

func fake(name string, exts []string, magic ...string) Format {
	return Format{
		Name: name, Extensions: exts, MIMEType: "image/" + name, Magic: magic,
		DecodeConfig: func([]byte) (image.Config, error) { return image.Config{}, nil },
		Decode:       func([]byte, image.Config, int) (image.Image, error) { return nil, nil },
	}
}

func TestSniff(t *testing.T) {
	special := fake("special", []string{".spc"}, "AB??")
	special.Match = func(b []byte) bool { return len(b) > 4 && b[4] == '!' }
	withTable(t, special, fake("ab", []string{".ab"}, "AB??"), fake("xy", []string{".xy"}, "XY", "YX"))
	tests := []struct {
		data string
		want string // "" for no match
	}{
		{"AB12!rest", "special"}, // Match accepts: the earlier registration wins
		{"AB12.rest", "ab"},      // Match refuses: falls through to the next format
		{"ABzz", "ab"},           // '?' matches any byte
		{"AB1", ""},              // shorter than the magic
		{"XYdata", "xy"},
		{"YXdata", "xy"}, // second magic
		{"ZZ", ""},
		{"", ""},
	}
	for _, tc := range tests {
		f, ok := Sniff([]byte(tc.data))
		if got := f.Name; ok != (tc.want != "") || got != tc.want {
			t.Errorf("Sniff(%q) = %q, %v; want %q", tc.data, got, ok, tc.want)
		}
	}
}

func TestLookups(t *testing.T) {
	withTable(t, fake("jpeg", []string{".jpg", ".jpeg"}, "J"), fake("tiff", []string{".tif", ".tiff"}, "T"))
	tests := []struct {
		fn, arg, want string // want: format name, "" for not found
	}{
		{"Lookup", "jpeg", "jpeg"},
		{"Lookup", "JPG", "jpeg"}, // an extension without the dot
		{"Lookup", "tif", "tiff"},
		{"Lookup", "", ""},
		{"Lookup", "png", ""},
		{"ByExtension", ".JPEG", "jpeg"},
		{"ByExtension", "tiff", "tiff"},
		{"ByExtension", ".png", ""},
		{"ByExtension", "", ""},
	}
	for _, tc := range tests {
		var f Format
		var ok bool
		if tc.fn == "Lookup" {
			f, ok = Lookup(tc.arg)
		} else {
			f, ok = ByExtension(tc.arg)
		}
		if ok != (tc.want != "") || f.Name != tc.want {
			t.Errorf("%s(%q) = %q, %v; want %q", tc.fn, tc.arg, f.Name, ok, tc.want)
		}
	}
	if got, want := strings.Join(Extensions(), " "), ".jpg .jpeg .tif .tiff"; got != want {
		t.Errorf("Extensions() = %q, want %q", got, want)
	}
	if got := MIMEType("tif"); got != "image/tiff" {
		t.Errorf("MIMEType(tif) = %q", got)
	}
	if got := MIMEType("nope"); got != "application/octet-stream" {
		t.Errorf("MIMEType(nope) = %q", got)
	}
}

func TestRegisterRefuses(t *testing.T) {
	noDecoder := fake("x", []string{".x"}, "X")
	noDecoder.Decode = nil
	tests := []struct {
		name string
		f    Format
		want string
	}{
		{"duplicate name", fake("a", []string{".b"}, "B"), "registered twice"},
		{"duplicate extension", fake("b", []string{".a"}, "B"), "already belongs"},
		{"upper-case extension", fake("c", []string{".C"}, "C"), "lower case"},
		{"extension without dot", fake("d", []string{"d"}, "D"), "start with a dot"},
		{"no magic", fake("e", []string{".e"}), "required"},
		{"no decoder", noDecoder, "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withTable(t, fake("a", []string{".a"}, "A"))
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), tc.want) {
					t.Fatalf("Register panicked with %v, want a message containing %q", r, tc.want)
				}
			}()
			Register(tc.f)
		})
	}
}
