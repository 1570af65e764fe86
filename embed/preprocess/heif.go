package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"

	"github.com/gen2brain/avif"
	"github.com/gen2brain/heic"
)

// HEIC and AVIF are HEIF files (ISO/IEC 23008-12): an ISO media container
// whose meta box lists items (the primary one is the picture) and their
// properties, among them the size (ispe) and the rotation (irot) and
// mirroring (imir) a viewer must apply. This file reads that structure in
// Go, so that the size is checked against MaxPixels before any decoding,
// and applies irot/imir to the decoded pixels. The pixels themselves are
// decoded by github.com/gen2brain/heic (a HEVC decoder) and
// github.com/gen2brain/avif (libavif and dav1d), both compiled to
// WebAssembly and run by wazero: no cgo and no system library.
//
// An EXIF Orientation stored in a HEIF file is not applied: the HEIF
// specification makes irot/imir the orientation, and cameras that write
// both (iPhones) describe the same turn twice; libheif, libvips and so
// Immich and digiKam ignore the EXIF tag as well.

func init() {
	// The dynamic-library path of gen2brain/heic (a system libheif.so loaded
	// through purego) does not release decoded images (v0.7.1: no
	// heif_image_release on the still-image path); the WebAssembly decoder
	// is used everywhere instead, which also makes every machine decode the
	// same way. gen2brain/avif uses a system libavif.so only when it is
	// version 1.1 or later (Debian 12 has 0.11); its output is the same
	// stored pixels. Both libraries link purego, which makes CGO_ENABLED=0
	// binaries dynamically linked against libc; build with -tags nodynamic
	// to leave it out and get static binaries again.
	heic.ForceWasmMode = true
}

// heifInfo is what the container says about the primary item.
type heifInfo struct {
	brand    string // major brand
	itemType string // "hvc1", "av01", "grid", ...
	width    int    // ispe, before irot/imir
	height   int
	// orient is the EXIF orientation (1–8) equivalent to the item's
	// irot and imir properties, composed in the order they are listed.
	orient int
	// transformAt are the offsets in the file of the irot and imir box
	// types.
	transformAt []int
}

var errNotHEIF = errors.New("not a HEIF file")

// box is one ISO media box: its type, payload, and the offset of the
// payload in the file.
type box struct {
	typ  string
	data []byte
	at   int
}

// boxes splits b, which starts at offset base in the file, into its boxes.
func boxes(b []byte, base int) ([]box, error) {
	var out []box
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, errors.New("truncated box header")
		}
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return nil, errors.New("truncated box header")
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			return out, fmt.Errorf("box %q: size %d outside the file", typ, size)
		}
		out = append(out, box{typ: typ, data: b[hdr:size], at: base + int(hdr)})
		b, base = b[size:], base+int(size)
	}
	return out, nil
}

// child returns the first box of type typ in list.
func child(list []box, typ string) (box, bool) {
	for _, bx := range list {
		if bx.typ == typ {
			return bx, true
		}
	}
	return box{}, false
}

// parseHEIF reads the primary item's type, size and orientation. The mdat
// box may be missing or cut (only the header is needed).
func parseHEIF(data []byte) (heifInfo, error) {
	var info heifInfo
	if len(data) < 16 || string(data[4:8]) != "ftyp" {
		return info, errNotHEIF
	}
	info.brand = string(data[8:12])
	top, err := boxes(data, 0)
	if len(top) == 0 {
		return info, err
	}
	meta, ok := child(top, "meta")
	if !ok || len(meta.data) < 4 {
		return info, fmt.Errorf("%w: no meta box", errNotHEIF)
	}
	inner, err := boxes(meta.data[4:], meta.at+4) // a full box: version and flags first
	if err != nil {
		return info, fmt.Errorf("meta box: %w", err)
	}
	primary, err := primaryItem(inner)
	if err != nil {
		return info, err
	}
	if iinf, ok := child(inner, "iinf"); ok {
		info.itemType = itemType(iinf.data, primary)
	}
	iprp, ok := child(inner, "iprp")
	if !ok {
		return info, errors.New("no item properties (iprp)")
	}
	if err := readProperties(iprp, primary, &info); err != nil {
		return info, err
	}
	if info.width <= 0 || info.height <= 0 {
		return info, errors.New("the primary image has no size (ispe)")
	}
	return info, nil
}

// primaryItem returns the id in the pitm box.
func primaryItem(meta []box) (uint32, error) {
	pitm, ok := child(meta, "pitm")
	p := pitm.data
	if !ok || len(p) < 6 {
		return 0, errors.New("no primary item (pitm)")
	}
	if p[0] == 0 {
		return uint32(binary.BigEndian.Uint16(p[4:])), nil
	}
	if len(p) < 8 {
		return 0, errors.New("truncated pitm box")
	}
	return binary.BigEndian.Uint32(p[4:]), nil
}

// itemType returns the type of item id from the iinf box, or "".
func itemType(iinf []byte, id uint32) string {
	if len(iinf) < 6 {
		return ""
	}
	off := 6
	if iinf[0] != 0 {
		off = 8
	}
	list, _ := boxes(iinf[min(off, len(iinf)):], 0)
	for _, bx := range list {
		e := bx.data
		if bx.typ != "infe" || len(e) < 4 || e[0] < 2 {
			continue
		}
		var got uint32
		var rest []byte
		if e[0] == 2 && len(e) >= 12 {
			got, rest = uint32(binary.BigEndian.Uint16(e[4:])), e[8:]
		} else if e[0] >= 3 && len(e) >= 14 {
			got, rest = binary.BigEndian.Uint32(e[4:]), e[10:]
		}
		if got == id && len(rest) >= 4 {
			return string(rest[:4])
		}
	}
	return ""
}

// readProperties fills the size and orientation of item id from the
// item property container (ipco) and associations (ipma).
func readProperties(iprp box, id uint32, info *heifInfo) error {
	list, err := boxes(iprp.data, iprp.at)
	if err != nil {
		return fmt.Errorf("iprp box: %w", err)
	}
	ipco, ok := child(list, "ipco")
	if !ok {
		return errors.New("no item property container (ipco)")
	}
	props, err := boxes(ipco.data, ipco.at)
	if err != nil {
		return fmt.Errorf("ipco box: %w", err)
	}
	info.orient = 1
	for _, idx := range associations(list, id) {
		if idx < 1 || idx > len(props) {
			continue
		}
		p := props[idx-1]
		switch p.typ {
		case "ispe":
			if len(p.data) >= 12 {
				info.width = int(binary.BigEndian.Uint32(p.data[4:]))
				info.height = int(binary.BigEndian.Uint32(p.data[8:]))
			}
		case "irot":
			if len(p.data) >= 1 {
				// Anticlockwise by 90° × angle: EXIF 8, 3 and 6 say the same.
				info.orient = composeOrientation(info.orient, [4]int{1, 8, 3, 6}[p.data[0]&3])
				info.transformAt = append(info.transformAt, p.at-4)
			}
		case "imir":
			if len(p.data) >= 1 {
				// 0: top-to-bottom (about the horizontal axis), 1: left-to-right.
				info.orient = composeOrientation(info.orient, [2]int{4, 2}[p.data[0]&1])
				info.transformAt = append(info.transformAt, p.at-4)
			}
		}
	}
	return nil
}

// associations returns the 1-based property indices ipma lists for id, in
// order.
func associations(iprp []box, id uint32) []int {
	var out []int
	for _, bx := range iprp {
		if bx.typ != "ipma" || len(bx.data) < 8 {
			continue
		}
		d := bx.data
		version, flags := d[0], d[3]
		n := int(binary.BigEndian.Uint32(d[4:]))
		pos := 8
		for i := 0; i < n; i++ {
			var item uint32
			if version < 1 {
				if pos+2 > len(d) {
					return out
				}
				item, pos = uint32(binary.BigEndian.Uint16(d[pos:])), pos+2
			} else {
				if pos+4 > len(d) {
					return out
				}
				item, pos = binary.BigEndian.Uint32(d[pos:]), pos+4
			}
			if pos >= len(d) {
				return out
			}
			count := int(d[pos])
			pos++
			for j := 0; j < count; j++ {
				var idx int
				if flags&1 != 0 {
					if pos+2 > len(d) {
						return out
					}
					idx, pos = int(binary.BigEndian.Uint16(d[pos:])&0x7fff), pos+2
				} else {
					if pos >= len(d) {
						return out
					}
					idx, pos = int(d[pos]&0x7f), pos+1
				}
				if item == id {
					out = append(out, idx)
				}
			}
		}
	}
	return out
}

// orientTable[a][b] is the EXIF orientation of applying a, then b.
var orientTable = sync.OnceValue(func() [9][9]int {
	// Compose by transforming a small image whose pixels are all distinct.
	probe := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range probe.Pix {
		probe.Pix[i] = uint8(i + 1)
	}
	var single [9][]uint8
	var shape [9]image.Rectangle
	for o := 1; o <= 8; o++ {
		g := applyOrientation(probe, o).(*image.Gray)
		single[o], shape[o] = g.Pix, g.Rect
	}
	var t [9][9]int
	for a := 1; a <= 8; a++ {
		for b := 1; b <= 8; b++ {
			g := applyOrientation(applyOrientation(probe, a), b).(*image.Gray)
			for o := 1; o <= 8; o++ {
				if shape[o] == g.Rect && bytes.Equal(single[o], g.Pix) {
					t[a][b] = o
				}
			}
		}
	}
	return t
})

// composeOrientation returns the EXIF orientation equal to applying a,
// then b.
func composeOrientation(a, b int) int {
	if a < 1 || a > 8 {
		a = 1
	}
	if b < 1 || b > 8 {
		return a
	}
	return orientTable()[a][b]
}

// isHEIC and isAVIF tell the two HEIF formats apart by the primary item's
// coding (brands alone are ambiguous: "mif1" is both).
func isHEIC(data []byte) bool { return heifKind(data) == "heic" }
func isAVIF(data []byte) bool { return heifKind(data) == "avif" }

func heifKind(data []byte) string {
	info, err := parseHEIF(data)
	if err == nil {
		switch info.itemType {
		case "hvc1", "hev1":
			return "heic"
		case "av01":
			return "avif"
		}
	}
	brands := ftypBrands(data)
	switch {
	case slices.Contains(brands, "avif"), slices.Contains(brands, "avis"):
		return "avif"
	case slices.ContainsFunc(brands, func(b string) bool {
		return slices.Contains([]string{"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"}, b)
	}):
		return "heic"
	}
	return ""
}

// ftypBrands returns the major and compatible brands of the ftyp box.
func ftypBrands(data []byte) []string {
	if len(data) < 16 || string(data[4:8]) != "ftyp" {
		return nil
	}
	size := int(binary.BigEndian.Uint32(data))
	if size < 16 || size > len(data) {
		size = min(len(data), 64)
	}
	out := []string{string(data[8:12])}
	for p := 16; p+4 <= size; p += 4 {
		out = append(out, string(data[p:p+4]))
	}
	return out
}

// heifConfig is the displayed size: ispe, turned by irot.
func heifConfig(data []byte) (image.Config, error) {
	info, err := parseHEIF(data)
	if err != nil {
		return image.Config{}, err
	}
	cfg := image.Config{Width: info.width, Height: info.height}
	if info.orient >= 5 {
		cfg.Width, cfg.Height = cfg.Height, cfg.Width
	}
	return cfg, nil
}

// decodeHEIF decodes with dec and applies irot/imir. decoderOrients says
// that dec would apply them itself (gen2brain/heic does, as libheif does;
// gen2brain/avif does not, as libavif does not): they are then hidden from
// it, so that the turn is made once, here, the same way for both formats.
func decodeHEIF(dec func(data []byte) (image.Image, error), decoderOrients bool) func([]byte, image.Config, int) (image.Image, error) {
	return func(data []byte, _ image.Config, _ int) (image.Image, error) {
		info, err := parseHEIF(data)
		if err != nil {
			return nil, err
		}
		if info.orient > 1 && decoderOrients {
			data = hideTransforms(data, info)
		}
		img, err := dec(data)
		if err != nil {
			return nil, err
		}
		if b := img.Bounds(); b.Dx() != info.width || b.Dy() != info.height {
			return nil, fmt.Errorf("decoded %dx%d, the container says %dx%d", b.Dx(), b.Dy(), info.width, info.height)
		}
		if info.orient > 1 {
			img = applyOrientation(img, info.orient)
		}
		return img, nil
	}
}

// hideTransforms returns a copy of data whose irot and imir properties are
// renamed to a type decoders skip, so every decoder returns the stored
// pixels and the orientation is applied once, here, exactly (the HEVC
// decoder's own rotation resamples the chroma differently from libheif).
func hideTransforms(data []byte, info heifInfo) []byte {
	out := slices.Clone(data)
	for _, off := range info.transformAt {
		copy(out[off:off+4], "cfxf")
	}
	return out
}

func decodeHEIC(data []byte) (image.Image, error) { return heic.Decode(bytes.NewReader(data)) }
func decodeAVIF(data []byte) (image.Image, error) { return avif.Decode(bytes.NewReader(data)) }
