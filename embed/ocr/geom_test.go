package ocr

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b pt, tol float64) bool { return math.Abs(a.x-b.x) <= tol && math.Abs(a.y-b.y) <= tol }

func TestConvexHull(t *testing.T) {
	tests := []struct {
		name string
		in   []pt
		want int // hull size
	}{
		{"empty", nil, 0},
		{"one", []pt{{1, 1}}, 1},
		{"duplicates", []pt{{1, 1}, {1, 1}, {1, 1}}, 1},
		{"collinear", []pt{{0, 0}, {1, 1}, {2, 2}, {3, 3}}, 2},
		{"square with inside points", []pt{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {2, 2}, {1, 3}, {2, 0}}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := convexHull(append([]pt(nil), tc.in...)); len(got) != tc.want {
				t.Errorf("hull of %v = %v, want %d points", tc.in, got, tc.want)
			}
		})
	}
}

func TestMinAreaRect(t *testing.T) {
	// A rectangle 40×10 rotated by 30° about (50, 50), sampled densely.
	th := math.Pi / 6
	u, v := pt{math.Cos(th), math.Sin(th)}, pt{-math.Sin(th), math.Cos(th)}
	var pts []pt
	for a := -20.0; a <= 20; a += 0.5 {
		for b := -5.0; b <= 5; b += 0.5 {
			pts = append(pts, pt{50, 50}.add(u.scale(a)).add(v.scale(b)))
		}
	}
	rect, short := minAreaRect(convexHull(pts))
	if math.Abs(short-10) > 1e-6 {
		t.Errorf("short side %v, want 10", short)
	}
	long := math.Max(dist(rect[0], rect[1]), dist(rect[1], rect[2]))
	if math.Abs(long-40) > 1e-6 {
		t.Errorf("long side %v, want 40", long)
	}
	for _, tc := range []struct {
		name  string
		hull  []pt
		short float64
	}{
		{"empty", nil, 0},
		{"point", []pt{{3, 4}}, 0},
		{"segment", []pt{{0, 0}, {10, 0}}, 0},
	} {
		if _, s := minAreaRect(tc.hull); s != tc.short {
			t.Errorf("%s: short side %v, want %v", tc.name, s, tc.short)
		}
	}
}

func TestMiniBoxAndOrder(t *testing.T) {
	want := [4]pt{{10, 20}, {110, 20}, {110, 60}, {10, 60}}
	perms := [][4]int{{0, 1, 2, 3}, {2, 3, 0, 1}, {3, 1, 0, 2}, {1, 0, 3, 2}}
	for _, p := range perms {
		in := [4]pt{want[p[0]], want[p[1]], want[p[2]], want[p[3]]}
		if got := miniBox(in); got != want {
			t.Errorf("miniBox(%v) = %v, want %v", in, got, want)
		}
		got, ok := orderClockwise(in)
		if !ok || got != want {
			t.Errorf("orderClockwise(%v) = %v %v, want %v", in, got, ok, want)
		}
	}
	if _, ok := orderClockwise([4]pt{{1, 1}, {1, 1}, {1, 1}, {1, 1}}); ok {
		t.Error("orderClockwise accepted four equal corners")
	}
}

func TestExpandRect(t *testing.T) {
	r := [4]pt{{10, 10}, {30, 10}, {30, 20}, {10, 20}}
	got := expandRect(r, 2)
	want := [4]pt{{8, 8}, {32, 8}, {32, 22}, {8, 22}}
	for i := range got {
		if !near(got[i], want[i], 1e-9) {
			t.Fatalf("expandRect = %v, want %v", got, want)
		}
	}
	// PaddleOCR's distance: area × ratio / perimeter.
	if d := polyArea(r[:]) * 1.5 / polyPerimeter(r[:]); math.Abs(d-5) > 1e-9 {
		t.Errorf("unclip distance %v, want 5", d)
	}
}

func TestBoxIoU(t *testing.T) {
	sq := func(x0, y0, x1, y1 int) [4]image.Point {
		return [4]image.Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
	}
	tests := []struct {
		name string
		a, b [4]image.Point
		want float64
	}{
		{"same", sq(0, 0, 10, 10), sq(0, 0, 10, 10), 1},
		{"half", sq(0, 0, 10, 10), sq(5, 0, 15, 10), 50.0 / 150},
		{"apart", sq(0, 0, 10, 10), sq(20, 20, 30, 30), 0},
		{"inside", sq(0, 0, 10, 10), sq(2, 2, 7, 7), 25.0 / 100},
		{"degenerate", sq(0, 0, 10, 10), sq(3, 3, 3, 3), 0},
		{"counter-clockwise", sq(0, 0, 10, 10), [4]image.Point{{0, 0}, {0, 10}, {10, 10}, {10, 0}}, 1},
		{"diamond in square", sq(0, 0, 10, 10), [4]image.Point{{5, 0}, {10, 5}, {5, 10}, {0, 5}}, 0.5},
	}
	for _, tc := range tests {
		if got := BoxIoU(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: BoxIoU = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestQuadHomography(t *testing.T) {
	q := [4][2]float64{{10, 20}, {110, 30}, {105, 80}, {12, 70}}
	m, ok := quadHomography(q, 100, 50)
	if !ok {
		t.Fatal("not ok")
	}
	for i, c := range [][2]float64{{0, 0}, {100, 0}, {100, 50}, {0, 50}} {
		x, y := m.apply(c[0], c[1])
		if math.Abs(x-q[i][0]) > 1e-9 || math.Abs(y-q[i][1]) > 1e-9 {
			t.Errorf("corner %d maps to (%v, %v), want %v", i, x, y, q[i])
		}
	}
	if _, ok := quadHomography([4][2]float64{{0, 0}, {0, 0}, {0, 0}, {0, 0}}, 10, 10); ok {
		t.Error("a point-sized quadrilateral gave a homography")
	}
}

func TestPolyRowSpanRandomConvex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var pts []pt
		for range 8 {
			pts = append(pts, pt{rng.Float64() * 50, rng.Float64() * 50})
		}
		h := convexHull(pts)
		if len(h) < 3 {
			continue
		}
		y := rng.Float64() * 50
		lo, hi, ok := polyRowSpan(h, y)
		if !ok {
			continue
		}
		// The span's ends lie on the hull's boundary: just outside them is outside.
		for _, x := range []float64{lo - 1e-6, hi + 1e-6} {
			if inside(h, pt{x, y}) {
				t.Fatalf("(%v, %v) outside the span [%v, %v] is inside %v", x, y, lo, hi, h)
			}
		}
		if !inside(h, pt{(lo + hi) / 2, y}) && hi-lo > 1e-6 {
			t.Fatalf("middle of span [%v, %v] at y %v is not inside %v", lo, hi, y, h)
		}
	}
}

func inside(h []pt, p pt) bool {
	for i := range h {
		if cross(h[i], h[(i+1)%len(h)], p) < 0 {
			return false
		}
	}
	return true
}
