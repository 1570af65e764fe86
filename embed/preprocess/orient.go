package preprocess

import (
	"image"
	"image/color"
)

// applyOrientation returns img transformed as EXIF orientation o (2–8)
// asks, the way PIL's ImageOps.exif_transpose does it.
func applyOrientation(img image.Image, o int) image.Image {
	switch m := img.(type) {
	case *image.Gray:
		w, h, pix := orientPix(m.Pix, m.Stride, m.Rect, 1, o)
		return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}
	case *image.CMYK:
		w, h, pix := orientPix(m.Pix, m.Stride, m.Rect, 4, o)
		return &image.CMYK{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	case *image.RGBA:
		w, h, pix := orientPix(m.Pix, m.Stride, m.Rect, 4, o)
		return &image.RGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	case *image.NRGBA:
		w, h, pix := orientPix(m.Pix, m.Stride, m.Rect, 4, o)
		return &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	case *image.YCbCr:
		rgba := image.NewRGBA(image.Rect(0, 0, m.Rect.Dx(), m.Rect.Dy()))
		tmp := make([]uint8, m.Rect.Dx()*m.Rect.Dy()*3)
		ycbcrToRGB(tmp, m)
		for i := 0; i < len(tmp)/3; i++ {
			rgba.Pix[4*i], rgba.Pix[4*i+1], rgba.Pix[4*i+2], rgba.Pix[4*i+3] = tmp[3*i], tmp[3*i+1], tmp[3*i+2], 0xff
		}
		return applyOrientation(rgba, o)
	default:
		b := img.Bounds()
		n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				n.SetNRGBA(x-b.Min.X, y-b.Min.Y, color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA))
			}
		}
		return applyOrientation(n, o)
	}
}

// orientPix transforms a packed bpp-bytes-per-pixel image and returns the
// new width, height and pixels.
func orientPix(src []uint8, stride int, r image.Rectangle, bpp, o int) (int, int, []uint8) {
	w, h := r.Dx(), r.Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	dst := make([]uint8, ow*oh*bpp)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			default:
				sx, sy = x, y
			}
			so := sy*stride + sx*bpp
			copy(dst[(y*ow+x)*bpp:(y*ow+x+1)*bpp], src[so:so+bpp])
		}
	}
	return ow, oh, dst
}
