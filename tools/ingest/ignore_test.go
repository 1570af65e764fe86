package ingest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIgnoreRules(t *testing.T) {
	tests := []struct {
		rules []string
		path  string
		dir   bool
		want  bool
	}{
		{[]string{"*.png"}, "a.png", false, true},
		{[]string{"*.png"}, "deep/er/a.png", false, true},
		{[]string{"*.png"}, "a.jpg", false, false},
		{[]string{"raw"}, "photos/raw", true, true},
		{[]string{"raw/"}, "photos/raw", true, true},
		{[]string{"raw/"}, "photos/raw", false, false},
		{[]string{"/raw"}, "raw", true, true},
		{[]string{"/raw"}, "photos/raw", true, false},
		{[]string{"docs/old"}, "docs/old", true, true},
		{[]string{"docs/old"}, "x/docs/old", true, false},
		{[]string{"**/old"}, "x/y/old", true, true},
		{[]string{"a/**/b.png"}, "a/b.png", false, true},
		{[]string{"a/**/b.png"}, "a/x/y/b.png", false, true},
		{[]string{"a/**"}, "a/x/y.png", false, true},
		{[]string{"img-??.jpg"}, "img-01.jpg", false, true},
		{[]string{"img-[0-4]*.jpg"}, "img-57.jpg", false, false},
		{[]string{"*.png", "!keep.png"}, "keep.png", false, false},
		{[]string{"*.png", "!keep.png"}, "drop.png", false, true},
		{[]string{"!keep.png", "*.png"}, "keep.png", false, true}, // the last match decides
		{[]string{"# *.png", ""}, "a.png", false, false},
		{[]string{`\#hash.png`}, "#hash.png", false, true},
		{[]string{"*.png   "}, "a.png", false, true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.rules, ",")+" "+tc.path, func(t *testing.T) {
			rules, err := parseRules(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			ig := ignores{{base: "/r", rules: rules}}
			if got := ig.excluded(filepath.Join("/r", tc.path), tc.dir); got != tc.want {
				t.Errorf("excluded = %v, want %v", got, tc.want)
			}
		})
	}
	if err := CheckExclude([]string{"ok/*.png", "bad[.png"}); err == nil || !strings.Contains(err.Error(), "bad[") {
		t.Errorf("bad pattern: %v", err)
	}
}

// TestWalkIgnores walks a tree with ignore files at two levels and
// exclusion patterns, from its top and from a folder inside it.
func TestWalkIgnores(t *testing.T) {
	root := t.TempDir()
	files := []string{"a.png", "b.jpg", "keep.png", "raw/c.png", "sub/d.png", "sub/e.jpg", "sub/cache/f.png", "sub/deep/g.png", "tmp-1.png"}
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel, text string) {
		if err := os.WriteFile(filepath.Join(root, rel), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(IgnoreFile, "# top\n*.png\n!keep.png\nraw/\n")
	write(filepath.Join("sub", IgnoreFile), "!*.png\ncache/\n")
	tests := []struct {
		name    string
		path    string
		roots   []string
		exclude []string
		want    []string
	}{
		{"ignore files", root, nil, nil, []string{"b.jpg", "keep.png", "sub/d.png", "sub/deep/g.png", "sub/e.jpg"}},
		{"and excludes", root, nil, []string{"*.jpg", "deep/"}, []string{"keep.png", "sub/d.png"}},
		{"exclude anchored at the folder given", root, nil, []string{"/sub/d.png"}, []string{"b.jpg", "keep.png", "sub/deep/g.png", "sub/e.jpg"}},
		{"from inside a root: the rules above apply", filepath.Join(root, "sub"), []string{root}, []string{"e.jpg"}, []string{"sub/d.png", "sub/deep/g.png"}},
		{"an excluded folder named inside a root", filepath.Join(root, "raw"), []string{root}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := mustWalker(t, Options{Exclude: tc.exclude})
			defer w.close()
			if err := w.walk(t.Context(), []string{tc.path}, tc.roots); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range w.out {
				rel, _ := filepath.Rel(root, c.path)
				got = append(got, filepath.ToSlash(rel))
			}
			if !slices.Equal(got, tc.want) || len(w.fail) != 0 {
				t.Errorf("found %v (failed %v), want %v", got, w.fail, tc.want)
			}
		})
	}
	// A bad pattern in an ignore file is a failure naming the file and line.
	write(IgnoreFile, "*.png\n[oops\n")
	w := mustWalker(t, Options{})
	defer w.close()
	if err := w.walk(t.Context(), []string{root}, nil); err != nil {
		t.Fatal(err)
	}
	if len(w.fail) != 1 || !strings.HasSuffix(w.fail[0].Path, IgnoreFile) || !strings.Contains(w.fail[0].Reason, "line 2") {
		t.Errorf("failures %+v, want the ignore file's line 2", w.fail)
	}
}
