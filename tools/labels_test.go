package tools

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
)

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		want       []string
		wantErr    bool
	}{
		{"plain", "cat\ndog\n", []string{"cat", "dog"}, false},
		{"chinese, bom, comments, blanks", "\ufeff断裂体系叠合图\n# 注释\n\n  构造图  \r\n沉积图\n顶面构造图", []string{"断裂体系叠合图", "构造图", "沉积图", "顶面构造图"}, false},
		{"empty", "\n# only a comment\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".txt")
			if err := os.WriteFile(p, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadLabels(p)
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadLabels = %q, %v", got, err)
			}
		})
	}
	if _, err := ReadLabels(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestClassifyTemplates(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	ctx := context.Background()
	img := ImageRef{Path: f.ByClass["green triangle"]}
	labels := tinyshapes.Classes()
	one, err := s.ClassifyImage(ctx, ClassifyInput{Image: img, Labels: labels, Template: "a photo of a {}."})
	if err != nil {
		t.Fatal(err)
	}
	ens, err := s.ClassifyImage(ctx, ClassifyInput{Image: img, Labels: labels, Templates: []string{"a photo of a {}.", "a drawing of a {}."}})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, l := range ens.Labels {
		sum += l.Probability
	}
	if math.Abs(sum-1) > 1e-4 || ens.Labels[0].Label != "green triangle" {
		t.Errorf("ensemble: top %+v, sum %v", ens.Labels[0], sum)
	}
	if one.Labels[0].Probability == ens.Labels[0].Probability {
		t.Error("a second template changed nothing: templates are not used")
	}
	for _, bad := range [][]string{{"no placeholder"}, {"{} twice {}"}} {
		_, err := s.ClassifyImage(ctx, ClassifyInput{Image: img, Labels: labels, Templates: bad})
		if !IsInputError(err) {
			t.Errorf("templates %q: got %v, want an input error", bad, err)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"cat, dog", []string{"cat", "dog"}},
		{"构造图，沉积图,, 顶面构造图 ", []string{"构造图", "沉积图", "顶面构造图"}},
		{"blue square\r\nred circle\n\n", []string{"blue square", "red circle"}},
		{" , ，", nil},
	}
	for _, tt := range tests {
		if got := SplitList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
