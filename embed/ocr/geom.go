package ocr

import (
	"image"
	"math"
	"slices"
)

type pt struct{ x, y float64 }

func (p pt) sub(q pt) pt        { return pt{p.x - q.x, p.y - q.y} }
func (p pt) add(q pt) pt        { return pt{p.x + q.x, p.y + q.y} }
func (p pt) scale(s float64) pt { return pt{p.x * s, p.y * s} }
func (p pt) norm() float64      { return math.Hypot(p.x, p.y) }
func cross(o, a, b pt) float64  { return (a.x-o.x)*(b.y-o.y) - (a.y-o.y)*(b.x-o.x) }
func dist(a, b pt) float64      { return a.sub(b).norm() }
func lessXY(a, b pt) bool       { return a.x < b.x || (a.x == b.x && a.y < b.y) }
func quadOf(q [4]pt) [4][2]float64 {
	return [4][2]float64{{q[0].x, q[0].y}, {q[1].x, q[1].y}, {q[2].x, q[2].y}, {q[3].x, q[3].y}}
}

// convexHull returns the convex hull of p counter-clockwise (in y-down
// image coordinates, clockwise on screen) without collinear points
// (Andrew's monotone chain). p is sorted in place.
func convexHull(p []pt) []pt {
	slices.SortFunc(p, func(a, b pt) int {
		switch {
		case lessXY(a, b):
			return -1
		case lessXY(b, a):
			return 1
		}
		return 0
	})
	p = slices.Compact(p)
	if len(p) < 3 {
		return p
	}
	h := make([]pt, 0, 2*len(p))
	for _, q := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lower := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	return h[:len(h)-1]
}

// minAreaRect returns the corners of the smallest-area rectangle enclosing
// the convex polygon hull (rotating calipers, as cv2.minAreaRect) and its
// shorter side.
func minAreaRect(hull []pt) ([4]pt, float64) {
	switch len(hull) {
	case 0:
		return [4]pt{}, 0
	case 1:
		return [4]pt{hull[0], hull[0], hull[0], hull[0]}, 0
	}
	best := math.Inf(1)
	var corners [4]pt
	var short float64
	n := len(hull)
	for i := range n {
		e := hull[(i+1)%n].sub(hull[i])
		l := e.norm()
		if l == 0 {
			continue
		}
		u := e.scale(1 / l)
		v := pt{-u.y, u.x}
		minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, q := range hull {
			d := q.sub(hull[i])
			a, b := d.x*u.x+d.y*u.y, d.x*v.x+d.y*v.y
			minU, maxU = math.Min(minU, a), math.Max(maxU, a)
			minV, maxV = math.Min(minV, b), math.Max(maxV, b)
		}
		area := (maxU - minU) * (maxV - minV)
		if area < best-1e-9 {
			best = area
			o := hull[i]
			at := func(a, b float64) pt { return o.add(u.scale(a)).add(v.scale(b)) }
			corners = [4]pt{at(minU, minV), at(maxU, minV), at(maxU, maxV), at(minU, maxV)}
			short = math.Min(maxU-minU, maxV-minV)
		}
	}
	return corners, short
}

// miniBox orders the corners of a rectangle as PaddleOCR's get_mini_boxes
// does: sorted by x, the left pair split by y into top-left and
// bottom-left, the right pair into top-right and bottom-right. The result
// runs top-left, top-right, bottom-right, bottom-left.
func miniBox(c [4]pt) [4]pt {
	p := c
	slices.SortStableFunc(p[:], func(a, b pt) int {
		switch {
		case a.x < b.x:
			return -1
		case a.x > b.x:
			return 1
		}
		return 0
	})
	i1, i4 := 1, 0
	if p[1].y > p[0].y {
		i1, i4 = 0, 1
	}
	i2, i3 := 3, 2
	if p[3].y > p[2].y {
		i2, i3 = 2, 3
	}
	return [4]pt{p[i1], p[i2], p[i3], p[i4]}
}

// expandRect grows the rectangle r (corners in order around it) by d on
// every side: the minimum-area rectangle of PaddleOCR's unclip, a round
// offset of the rectangle by d.
func expandRect(r [4]pt, d float64) [4]pt {
	e1, e2 := r[1].sub(r[0]), r[3].sub(r[0])
	l1, l2 := e1.norm(), e2.norm()
	if l1 == 0 || l2 == 0 {
		return r
	}
	u, v := e1.scale(d/l1), e2.scale(d/l2)
	return [4]pt{
		r[0].sub(u).sub(v),
		r[1].add(u).sub(v),
		r[2].add(u).add(v),
		r[3].sub(u).add(v),
	}
}

// polyArea is the absolute area of a simple polygon.
func polyArea(p []pt) float64 {
	var a float64
	for i := range p {
		j := (i + 1) % len(p)
		a += p[i].x*p[j].y - p[j].x*p[i].y
	}
	return math.Abs(a) / 2
}

func polyPerimeter(p []pt) float64 {
	var l float64
	for i := range p {
		l += dist(p[i], p[(i+1)%len(p)])
	}
	return l
}

// orderClockwise orders four corners as PaddleOCR's order_points_clockwise:
// top-left has the smallest x+y, bottom-right the largest, and of the other
// two, top-right has the smaller y-x. ok is false when the corners do not
// yield four distinct positions.
func orderClockwise(c [4]pt) ([4]pt, bool) {
	lo, hi := 0, 0
	for i := range c {
		s := c[i].x + c[i].y
		if s < c[lo].x+c[lo].y {
			lo = i
		}
		if s > c[hi].x+c[hi].y {
			hi = i
		}
	}
	if lo == hi {
		return c, false
	}
	var rest []pt
	for i := range c {
		if i != lo && i != hi {
			rest = append(rest, c[i])
		}
	}
	a, b := rest[0], rest[1]
	if a.y-a.x > b.y-b.x {
		a, b = b, a
	}
	return [4]pt{c[lo], a, c[hi], b}, true
}

// convexIntersectionArea is the area of the intersection of two convex
// polygons (Sutherland–Hodgman clipping of a by b); used by tests and the
// parity harness through BoxIoU.
func convexIntersectionArea(a, b []pt) float64 {
	if polyArea(b) == 0 || polyArea(a) == 0 {
		return 0
	}
	// Orient b counter-clockwise in the cross-product sense.
	clip := append([]pt(nil), b...)
	if signedArea(clip) < 0 {
		slices.Reverse(clip)
	}
	out := append([]pt(nil), a...)
	for i := range clip {
		p, q := clip[i], clip[(i+1)%len(clip)]
		in := out
		out = nil
		for j := range in {
			cur, prev := in[j], in[(j+len(in)-1)%len(in)]
			cIn, pIn := cross(p, q, cur) >= 0, cross(p, q, prev) >= 0
			if cIn != pIn {
				out = append(out, lineIntersect(prev, cur, p, q))
			}
			if cIn {
				out = append(out, cur)
			}
		}
		if len(out) == 0 {
			return 0
		}
	}
	return polyArea(out)
}

func signedArea(p []pt) float64 {
	var a float64
	for i := range p {
		j := (i + 1) % len(p)
		a += p[i].x*p[j].y - p[j].x*p[i].y
	}
	return a / 2
}

func lineIntersect(a, b, p, q pt) pt {
	d := (a.x-b.x)*(p.y-q.y) - (a.y-b.y)*(p.x-q.x)
	if d == 0 {
		return b
	}
	t := ((a.x-p.x)*(p.y-q.y) - (a.y-p.y)*(p.x-q.x)) / d
	return pt{a.x + t*(b.x-a.x), a.y + t*(b.y-a.y)}
}

// BoxIoU is the intersection over union of two convex quadrilaterals, such
// as two Line boxes: 0 when they do not overlap (or one is degenerate), 1
// when they coincide.
func BoxIoU(a, b [4]image.Point) float64 {
	var pa, pb []pt
	for i := range 4 {
		pa = append(pa, pt{float64(a[i].X), float64(a[i].Y)})
		pb = append(pb, pt{float64(b[i].X), float64(b[i].Y)})
	}
	inter := convexIntersectionArea(pa, pb)
	union := polyArea(pa) + polyArea(pb) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}
