package qdrant

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cliprag/cliprag/retriever"
)

func TestAncestors(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"/", []string{"/"}},
		{"/a", []string{"/a", "/"}},
		{"/a/b/c", []string{"/a/b/c", "/a/b", "/a", "/"}},
		{"/a/b/", []string{"/a/b", "/a", "/"}},
		{"/a//b/../c", []string{"/a/c", "/a", "/"}},
		{"rel/dir", []string{"rel/dir", "rel"}},
	}
	for _, tc := range tests {
		if got := ancestors(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("ancestors(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalID(t *testing.T) {
	id := retriever.RecordID(strings.Repeat("ab", 32), "m")
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{id, id, true},
		{strings.ToUpper(id), id, true},
		{"", "", false},
		{"not-a-uuid", "", false},
		{strings.ReplaceAll(id, "-", ""), "", false},
		{id[:35] + "g", "", false},
		{strings.Replace(id, "-", "x", 1), "", false},
	}
	for _, tc := range tests {
		got, ok := canonicalID(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("canonicalID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	zone := time.FixedZone("X", -7*3600)
	tests := []struct {
		name string
		p    retriever.Payload
	}{
		{"full", retriever.Payload{
			Path: "/img/a b/ü.jpg", SHA256: strings.Repeat("0f", 32), Size: 1 << 40,
			ModTime: time.Date(2023, 1, 2, 3, 4, 5, 123456789, zone), Width: 4000, Height: 3000,
			Format: "jpeg", Folder: "/img/a b",
			Tags:      []retriever.Tag{{Label: "cat", Score: 0.875}, {Label: "a dog", Score: 1e-7}},
			IndexedAt: time.Date(2024, 5, 6, 7, 8, 9, 1000, time.UTC), Model: "openai/clip-vit-base-patch32",
			TagSet: "0123456789abcdef",
		}},
		{"text", retriever.Payload{
			Path: "/img/fig.png", Model: "m", TextBy: "ocr/v4",
			Text: []retriever.TextLine{
				{Text: "断裂体系叠合图", Confidence: 0.96875, Box: [4][2]int{{10, 5}, {300, 6}, {300, 40}, {10, 39}}},
				{Text: "Fault system overlay map", Confidence: 0.5, Box: [4][2]int{{-3, 50}, {290, 50}, {290, 80}, {-3, 80}}},
			},
		}},
		{"read, no text", retriever.Payload{Path: "/img/photo.jpg", TextBy: "ocr/v4"}},
		{"zero", retriever.Payload{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := retriever.RecordID(tc.p.SHA256, tc.p.Model)
			pt, err := toPoint(retriever.Record{ID: id, Vector: []float32{1, 0}, Payload: tc.p})
			if err != nil {
				t.Fatal(err)
			}
			if pt.GetId().GetUuid() != id {
				t.Errorf("id %q, want %q", pt.GetId().GetUuid(), id)
			}
			got := fromPayload(pt.GetPayload())
			if !got.ModTime.Equal(tc.p.ModTime) || !got.IndexedAt.Equal(tc.p.IndexedAt) {
				t.Errorf("times %v %v, want %v %v", got.ModTime, got.IndexedAt, tc.p.ModTime, tc.p.IndexedAt)
			}
			got.ModTime, got.IndexedAt = tc.p.ModTime, tc.p.IndexedAt
			if !reflect.DeepEqual(got, tc.p) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.p)
			}
		})
	}
}

func TestToPointRejectsInvalidUTF8(t *testing.T) {
	_, err := toPoint(retriever.Record{ID: "x", Payload: retriever.Payload{Path: "/a/b.jpg", Tags: []retriever.Tag{{Label: "\xff"}}}})
	if err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("err = %v, want a UTF-8 error", err)
	}
}

// TestNonUTF8PathRoundTrip: a path that is not UTF-8 is stored as escaped
// text with its bytes beside it, and decodes to the same bytes.
func TestNonUTF8PathRoundTrip(t *testing.T) {
	want := retriever.Payload{Path: "/data/caf\xe9/\xff\xfe.jpg", Folder: "/data/caf\xe9", Model: "m"}
	pt, err := toPoint(retriever.Record{ID: "6c697072-6167-5e53-8e2a-1d773c559001", Vector: []float32{1}, Payload: want})
	if err != nil {
		t.Fatal(err)
	}
	if got := pt.GetPayload()[fPath].GetStringValue(); got != "/data/caf\\xe9/\\xff\\xfe.jpg\x00" {
		t.Errorf("stored path text %q", got)
	}
	var folders []string
	for _, v := range pt.GetPayload()[fFolders].GetListValue().GetValues() {
		folders = append(folders, v.GetStringValue())
	}
	if !reflect.DeepEqual(folders, []string{"/data/caf\\xe9\x00", "/data", "/"}) {
		t.Errorf("folders %q", folders)
	}
	got := fromPayload(pt.GetPayload())
	if got.Path != want.Path || got.Folder != want.Folder {
		t.Errorf("round trip: path %q folder %q, want %q %q", got.Path, got.Folder, want.Path, want.Folder)
	}
}

func TestToFilter(t *testing.T) {
	tests := []struct {
		name string
		f    retriever.Filter
		want []string // conditions, as "key=values"
	}{
		{"zero", retriever.Filter{}, nil},
		{"min score only", retriever.Filter{MinScore: 0.3}, nil},
		{"any", retriever.Filter{AnyTags: []string{"cat", "dog"}}, []string{"tags[].label=[cat dog]"}},
		{"all", retriever.Filter{AllTags: []string{"cat", "dog"}}, []string{"tags[].label=cat", "tags[].label=dog"}},
		{"folder", retriever.Filter{FolderPrefix: "/a/b/"}, []string{"folders=/a/b"}},
		{"combined", retriever.Filter{AnyTags: []string{"x"}, AllTags: []string{"y"}, FolderPrefix: "/z"},
			[]string{"tags[].label=[x]", "tags[].label=y", "folders=/z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := toFilter(tc.f)
			if tc.want == nil {
				if f != nil {
					t.Fatalf("filter = %v, want nil", f)
				}
				return
			}
			if len(f.GetShould()) != 0 || len(f.GetMustNot()) != 0 {
				t.Errorf("unexpected should/must_not in %v", f)
			}
			var got []string
			for _, c := range f.GetMust() {
				fc := c.GetField()
				m := fc.GetMatch()
				v := m.GetKeyword()
				if kws := m.GetKeywords(); kws != nil {
					v = fmt.Sprint(kws.GetStrings())
				}
				got = append(got, fc.GetKey()+"="+v)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("conditions %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err       error
		want      bool
		wantDelay time.Duration
	}{
		{status.Error(codes.Unavailable, "down"), true, 0},
		{fmt.Errorf("wrapped: %w", status.Error(codes.DeadlineExceeded, "slow")), true, 0},
		{status.Error(codes.ResourceExhausted, "busy"), true, 0},
		{&qc.QdrantResourceExhaustedError{Reason: "rate", RetryAfterS: 2}, true, 2 * time.Second},
		{status.Error(codes.InvalidArgument, "bad"), false, 0},
		{status.Error(codes.NotFound, "no"), false, 0},
		{errors.New("plain"), false, 0},
	}
	for _, tc := range tests {
		got, d := retryable(tc.err)
		if got != tc.want || d != tc.wantDelay {
			t.Errorf("retryable(%v) = %v, %v; want %v, %v", tc.err, got, d, tc.want, tc.wantDelay)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"1.16.3", 1, 16, true},
		{"v1.9.0-dev", 1, 9, true},
		{"2.0", 2, 0, true},
		{"", 0, 0, false},
		{"x.y", 0, 0, false},
	}
	for _, tc := range tests {
		ma, mi, ok := parseVersion(tc.in)
		if ma != tc.major || mi != tc.minor || ok != tc.ok {
			t.Errorf("parseVersion(%q) = %d, %d, %v", tc.in, ma, mi, ok)
		}
	}
}
