package stores

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec    string
		want    Spec
		wantErr string // substring of the error; "" for success
	}{
		{spec: "/var/lib/cliprag", want: Spec{Kind: Local, Dir: "/var/lib/cliprag"}},
		{spec: "  /var/lib/cliprag/  ", want: Spec{Kind: Local, Dir: "/var/lib/cliprag"}},
		{spec: "idx", want: Spec{Kind: Local, Dir: filepath.Join(wd, "idx")}},
		{spec: "./a/../b", want: Spec{Kind: Local, Dir: filepath.Join(wd, "b")}},
		{spec: "~/pics/index", want: Spec{Kind: Local, Dir: filepath.Join(home, "pics/index")}},
		{spec: "~", want: Spec{Kind: Local, Dir: home}},
		{spec: "~other/x", want: Spec{Kind: Local, Dir: filepath.Join(wd, "~other/x")}},
		{spec: "file:///srv/index", want: Spec{Kind: Local, Dir: "/srv/index"}},
		{spec: "file://remote/srv/index", wantErr: "local path"},
		{spec: "", want: Spec{Kind: Local, Dir: DefaultDir()}},

		{spec: "qdrant://localhost:6334/images", want: Spec{Kind: Qdrant, Host: "localhost", Port: 6334, Collection: "images"}},
		{spec: "qdrant://db.example.com", want: Spec{Kind: Qdrant, Host: "db.example.com", Port: 6334, Collection: "images"}},
		{spec: "qdrant://db.example.com/", want: Spec{Kind: Qdrant, Host: "db.example.com", Port: 6334, Collection: "images"}},
		{spec: "qdrant://10.0.0.5:7000/photos", want: Spec{Kind: Qdrant, Host: "10.0.0.5", Port: 7000, Collection: "photos"}},
		{spec: "qdrant://10.0.0.5:7000/photos/", want: Spec{Kind: Qdrant, Host: "10.0.0.5", Port: 7000, Collection: "photos"}},
		{spec: "QDRANT://Host:6334/Images", want: Spec{Kind: Qdrant, Host: "Host", Port: 6334, Collection: "Images"}},
		{spec: "qdrant://[::1]:6334/x", want: Spec{Kind: Qdrant, Host: "::1", Port: 6334, Collection: "x"}},
		{spec: "qdrant://[::1]/x", want: Spec{Kind: Qdrant, Host: "::1", Port: 6334, Collection: "x"}},
		{spec: "qdrant:///x", want: Spec{Kind: Qdrant, Host: "localhost", Port: 6334, Collection: "x"}},
		{spec: "qdrant://h/my%20coll", want: Spec{Kind: Qdrant, Host: "h", Port: 6334, Collection: "my coll"}},
		{spec: "qdrants://xyz.cloud.qdrant.io/images", want: Spec{Kind: Qdrant, Host: "xyz.cloud.qdrant.io", Port: 6334, Collection: "images", TLS: true}},
		{spec: "qdrants://xyz.cloud.qdrant.io:443/images", want: Spec{Kind: Qdrant, Host: "xyz.cloud.qdrant.io", Port: 443, Collection: "images", TLS: true}},

		{spec: "qdrant://h:0/x", wantErr: "bad port"},
		{spec: "qdrant://h:70000/x", wantErr: "bad port"},
		{spec: "qdrant://h:abc/x", wantErr: "invalid port"},
		{spec: "qdrant://u:s3cret@h:abc/x", wantErr: "invalid port"},
		{spec: "qdrant://h:/x", wantErr: "empty port"},
		{spec: "qdrant://h/a/b", wantErr: "may not contain '/'"},
		{spec: "qdrant://h/x?api_key=s3cret", wantErr: "unexpected query"},
		{spec: "qdrant://h/x#frag", wantErr: "unexpected query"},
		{spec: "qdrant://user:s3cret@h/x", wantErr: "QDRANT_API_KEY"},
		{spec: "http://localhost:6333/images", wantErr: "unknown scheme"},
		{spec: "s3://bucket/index", wantErr: "unknown scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := Parse(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want an error containing %q", tc.spec, got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %q leaks the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.spec, err)
			}
			if got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
			// String round-trips through Parse.
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestDefaultDir(t *testing.T) {
	tests := []struct {
		goos string
		env  map[string]string
		home string
		want string
	}{
		{"linux", nil, "/home/me", "/home/me/.local/share/cliprag/index"},
		{"linux", map[string]string{"XDG_DATA_HOME": "/data/me"}, "/home/me", "/data/me/cliprag/index"},
		{"linux", map[string]string{"XDG_DATA_HOME": "relative"}, "/home/me", "/home/me/.local/share/cliprag/index"},
		{"freebsd", nil, "/usr/home/me", "/usr/home/me/.local/share/cliprag/index"},
		{"linux", nil, "", ".cliprag/index"},
		{"darwin", map[string]string{"XDG_DATA_HOME": "/ignored"}, "/Users/me", "/Users/me/Library/Application Support/cliprag/index"},
		{"windows", map[string]string{"LocalAppData": `C:\Users\me\AppData\Local`}, `C:\Users\me`, `C:\Users\me\AppData\Local\cliprag\index`},
		{"windows", nil, `C:\Users\me`, `C:\Users\me\AppData\Local\cliprag\index`},
	}
	for _, tc := range tests {
		t.Run(tc.goos+"/"+tc.want, func(t *testing.T) {
			got := defaultDir(tc.goos, func(k string) string { return tc.env[k] }, tc.home)
			if got != tc.want {
				t.Errorf("defaultDir(%s, %v, %q) = %q, want %q", tc.goos, tc.env, tc.home, got, tc.want)
			}
		})
	}
}

func TestDefaultDirIsAbsolute(t *testing.T) {
	if _, err := os.UserHomeDir(); err != nil {
		t.Skip("no home directory")
	}
	if d := DefaultDir(); !filepath.IsAbs(d) {
		t.Errorf("DefaultDir() = %q, want an absolute path", d)
	}
}
