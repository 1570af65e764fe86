package ocr

import (
	"math"
	"slices"
)

// Detection input normalisation: ImageNet's mean and standard deviation,
// applied, as PaddleOCR does, to the channels in OpenCV's B, G, R order.
var (
	detMean = [3]float32{0.485, 0.456, 0.406}
	detStd  = [3]float32{0.229, 0.224, 0.225}
)

// detSize is PaddleOCR's DetResizeForTest with limit_type "max": scale so
// the longer side is at most limit, then round both sides to multiples of
// 32 (at least 32).
func detSize(w, h, limit int) (int, int) {
	ratio := 1.0
	if limit > 0 && max(w, h) > limit {
		ratio = float64(limit) / float64(max(w, h))
	}
	rw := int(float64(w) * ratio)
	rh := int(float64(h) * ratio)
	round32 := func(v int) int { return max(int(math.RoundToEven(float64(v)/32))*32, 32) }
	return round32(rw), round32(rh)
}

// detParams are the post-processing settings (PaddleOCR's DBPostProcess).
type detParams struct {
	thresh        float32 // binarisation threshold of the probability map
	boxThresh     float32 // minimum mean probability inside a box
	unclipRatio   float64 // box expansion: area × ratio / perimeter
	cropRatio     float64 // the same for the recognition crop (at least unclipRatio)
	maxCandidates int     // regions considered, in scan order
}

// detBox is a detected line: the box reported, and the larger box its
// recognition crop is taken from.
type detBox struct {
	box, crop [4]pt
}

// minBoxSide is DBPostProcess's min_size: regions whose minimum-area
// rectangle has a shorter side below it are dropped (below it + 2 after
// unclipping).
const minBoxSide = 3

// run is a horizontal run of foreground pixels [x0, x1] in row y.
type run struct{ y, x0, x1 int }

// components labels the 8-connected regions of the pixels of prob (w×h)
// above thresh and returns each region's runs, regions ordered by their
// first pixel in raster order.
func components(prob []float32, w, h int, thresh float32) [][]run {
	var runs []run
	var parent []int
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if ra < rb {
			parent[rb] = ra
		} else {
			parent[ra] = rb
		}
	}
	prevStart, prevEnd := 0, 0 // runs of the previous row
	for y := range h {
		row := prob[y*w : (y+1)*w]
		start := len(runs)
		p := prevStart
		for x := 0; x < w; {
			if row[x] <= thresh {
				x++
				continue
			}
			x0 := x
			for x < w && row[x] > thresh {
				x++
			}
			r := run{y, x0, x - 1}
			id := len(runs)
			runs = append(runs, r)
			parent = append(parent, id)
			// Previous-row runs overlapping [x0-1, x1+1] touch this one.
			for p < prevEnd && runs[p].x1 < x0-1 {
				p++
			}
			for q := p; q < prevEnd && runs[q].x0 <= r.x1+1; q++ {
				union(id, q)
			}
		}
		prevStart, prevEnd = start, len(runs)
	}
	index := map[int]int{}
	var out [][]run
	for i, r := range runs {
		root := find(i)
		k, ok := index[root]
		if !ok {
			k = len(out)
			index[root] = k
			out = append(out, nil)
		}
		out[k] = append(out[k], r)
	}
	return out
}

// boxScore is DBPostProcess's box_score_fast: the mean probability inside
// the quadrilateral box (vertices truncated to integers, edges included).
func boxScore(prob []float32, w, h int, box [4]pt) float32 {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range box {
		xmin, xmax = math.Min(xmin, p.x), math.Max(xmax, p.x)
		ymin, ymax = math.Min(ymin, p.y), math.Max(ymax, p.y)
	}
	x0 := min(max(int(math.Floor(xmin)), 0), w-1)
	x1 := min(max(int(math.Ceil(xmax)), 0), w-1)
	y0 := min(max(int(math.Floor(ymin)), 0), h-1)
	y1 := min(max(int(math.Ceil(ymax)), 0), h-1)
	var q [4]pt
	for i, p := range box {
		q[i] = pt{math.Trunc(p.x - float64(x0)), math.Trunc(p.y - float64(y0))}
	}
	var sum float64
	n := 0
	for y := y0; y <= y1; y++ {
		lo, hi, ok := polyRowSpan(q[:], float64(y-y0))
		if !ok {
			continue
		}
		a := max(int(math.Ceil(lo-1e-9)), 0) + x0
		b := min(int(math.Floor(hi+1e-9))+x0, x1)
		for x := a; x <= b; x++ {
			sum += float64(prob[y*w+x])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float32(sum / float64(n))
}

// polyRowSpan is the x-extent of the convex polygon q on the horizontal
// line at y.
func polyRowSpan(q []pt, y float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := range q {
		a, b := q[i], q[(i+1)%len(q)]
		if y < math.Min(a.y, b.y) || y > math.Max(a.y, b.y) {
			continue
		}
		if a.y == b.y {
			lo, hi = math.Min(lo, math.Min(a.x, b.x)), math.Max(hi, math.Max(a.x, b.x))
			continue
		}
		x := a.x + (y-a.y)*(b.x-a.x)/(b.y-a.y)
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi, lo <= hi
}

// detBoxes turns the probability map (pw×ph) into text boxes in the
// coordinates of a dw×dh image: DBPostProcess (threshold, regions, their
// minimum-area rectangles, score filter, unclip) followed by
// TextDetector's filter (clockwise order, clipping, boxes of 3 pixels or
// less dropped). The boxes have integer coordinates.
func detBoxes(prob []float32, pw, ph, dw, dh int, p detParams) []detBox {
	regions := components(prob, pw, ph, p.thresh)
	if p.maxCandidates > 0 && len(regions) > p.maxCandidates {
		regions = regions[:p.maxCandidates]
	}
	var boxes []detBox
	pts := make([]pt, 0, 256)
	for _, reg := range regions {
		pts = pts[:0]
		for _, r := range reg {
			pts = append(pts, pt{float64(r.x0), float64(r.y)}, pt{float64(r.x1), float64(r.y)})
		}
		rect, short := minAreaRect(convexHull(pts))
		if short < minBoxSide {
			continue
		}
		box := miniBox(rect)
		if p.boxThresh > 0 && boxScore(prob, pw, ph, box) < p.boxThresh {
			continue
		}
		poly := box[:]
		unit := polyArea(poly) / polyPerimeter(poly)
		big := miniBox(expandRect(box, unit*p.unclipRatio))
		if math.Min(dist(big[0], big[1]), dist(big[0], big[3])) < minBoxSide+2 {
			continue
		}
		out, ok := toImage(big, pw, ph, dw, dh)
		if !ok || int(dist(out[0], out[1])) <= 3 || int(dist(out[0], out[3])) <= 3 {
			continue
		}
		crop := out
		if p.cropRatio > p.unclipRatio {
			if c, ok := toImage(miniBox(expandRect(box, unit*p.cropRatio)), pw, ph, dw, dh); ok {
				crop = c
			}
		}
		boxes = append(boxes, detBox{box: out, crop: crop})
	}
	return boxes
}

// toImage scales a box from the probability map (pw×ph) to the dw×dh
// image, rounds and clips it and orders its corners clockwise from the
// top-left, as DBPostProcess and filter_tag_det_res do.
func toImage(b [4]pt, pw, ph, dw, dh int) ([4]pt, bool) {
	var out [4]pt
	for i, q := range b {
		out[i] = pt{
			math.Min(math.Max(math.RoundToEven(q.x/float64(pw)*float64(dw)), 0), float64(dw)),
			math.Min(math.Max(math.RoundToEven(q.y/float64(ph)*float64(dh)), 0), float64(dh)),
		}
	}
	out, ok := orderClockwise(out)
	if !ok {
		return out, false
	}
	for i := range out {
		out[i].x = math.Min(math.Max(out[i].x, 0), float64(dw-1))
		out[i].y = math.Min(math.Max(out[i].y, 0), float64(dh-1))
	}
	return out, true
}

// sortBoxes puts boxes in reading order as PaddleOCR's sorted_boxes: by the
// top-left corner's y, then x, then boxes whose top-left corners are less
// than rowTol apart vertically are ordered left to right.
func sortBoxes(boxes []detBox, rowTol float64) {
	slices.SortStableFunc(boxes, func(x, y detBox) int {
		a, b := x.box, y.box
		switch {
		case a[0].y != b[0].y:
			if a[0].y < b[0].y {
				return -1
			}
			return 1
		case a[0].x < b[0].x:
			return -1
		case a[0].x > b[0].x:
			return 1
		}
		return 0
	})
	for i := 0; i < len(boxes)-1; i++ {
		for j := i; j >= 0; j-- {
			if math.Abs(boxes[j+1].box[0].y-boxes[j].box[0].y) < rowTol && boxes[j+1].box[0].x < boxes[j].box[0].x {
				boxes[j], boxes[j+1] = boxes[j+1], boxes[j]
			} else {
				break
			}
		}
	}
}
