//go:build libjpeg && cgo

package preprocess

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

struct cj_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int eof_warning;
	char msg[JMSG_LENGTH_MAX];
};

static void cj_error_exit(j_common_ptr c) {
	struct cj_err *e = (struct cj_err *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jb, 1);
}

static void cj_emit_message(j_common_ptr c, int level) {
	struct cj_err *e = (struct cj_err *)c->err;
	if (level < 0) {
		c->err->num_warnings++;
		if (c->err->msg_code == JWRN_JPEG_EOF) {
			e->eof_warning = 1;
		}
	}
}

typedef struct {
	int width, height;   // scaled output size
	int components;      // 1 grey, 3 RGB, 4 CMYK (output bytes per pixel: 1, 4, 4)
	char msg[JMSG_LENGTH_MAX];
} cj_info;

// cj_run reads the header, sets the scale num/8 and the output colour space,
// and, when out is not NULL, decodes into out (row stride `stride`).
static int cj_run(const unsigned char *data, unsigned long n, int num, cj_info *info, unsigned char *out, int stride) {
	struct jpeg_decompress_struct d;
	struct cj_err e;
	memset(&e, 0, sizeof e);
	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = cj_error_exit;
	e.pub.emit_message = cj_emit_message;
	if (setjmp(e.jb)) {
		strncpy(info->msg, e.msg, sizeof info->msg - 1);
		jpeg_destroy_decompress(&d);
		return -1;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, data, n);
	jpeg_read_header(&d, TRUE);
	d.scale_num = num;
	d.scale_denom = 8;
	switch (d.jpeg_color_space) {
	case JCS_GRAYSCALE:
		d.out_color_space = JCS_GRAYSCALE;
		info->components = 1;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		d.out_color_space = JCS_CMYK;
		info->components = 4;
		break;
	default:
		d.out_color_space = JCS_EXT_RGBA;
		info->components = 3;
		break;
	}
	jpeg_calc_output_dimensions(&d);
	info->width = d.output_width;
	info->height = d.output_height;
	if (out == NULL) {
		jpeg_destroy_decompress(&d);
		return 0;
	}
	jpeg_start_decompress(&d);
	while (d.output_scanline < d.output_height) {
		JSAMPROW row = out + (size_t)d.output_scanline * stride;
		jpeg_read_scanlines(&d, &row, 1);
	}
	if (e.eof_warning) {
		strncpy(info->msg, "premature end of JPEG data", sizeof info->msg - 1);
		jpeg_destroy_decompress(&d);
		return -2;
	}
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"io"
	"unsafe"
)

// ScaledJPEG reports whether JPEGs are decoded at a reduced DCT scale.
// This file is the "libjpeg" build (cgo + libjpeg-turbo linked at build
// time, enabled with -tags libjpeg): always.
func ScaledJPEG() bool { return true }

// JPEGDecoder names the JPEG decoder this process uses.
func JPEGDecoder() string { return "libjpeg-turbo (cgo, -tags libjpeg)" }

// decodeJPEG decodes data (declared w×h) with libjpeg-turbo.
func decodeJPEG(data []byte, w, h, minSide int) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty JPEG")
	}
	num := jpegScale(w, h, minSide)
	var info C.cj_info
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	if rc := C.cj_run(src, C.ulong(len(data)), C.int(num), &info, nil, 0); rc != 0 {
		return nil, fmt.Errorf("libjpeg: %s", C.GoString(&info.msg[0]))
	}
	ow, oh := int(info.width), int(info.height)
	if ow <= 0 || oh <= 0 {
		return nil, fmt.Errorf("libjpeg: invalid output size %dx%d", ow, oh)
	}
	img, pix, stride := jpegImage(int(info.components), ow, oh)
	rc := C.cj_run(src, C.ulong(len(data)), C.int(num), &info, (*C.uchar)(unsafe.Pointer(&pix[0])), C.int(stride))
	if rc == -2 {
		return nil, fmt.Errorf("libjpeg: %s: %w", C.GoString(&info.msg[0]), io.ErrUnexpectedEOF)
	}
	if rc != 0 {
		return nil, fmt.Errorf("libjpeg: %s", C.GoString(&info.msg[0]))
	}
	if info.components == 4 {
		invertCMYK(pix)
	}
	return img, nil
}
