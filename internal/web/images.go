package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cliprag/cliprag/tools"
)

// imageCache is the Cache-Control of thumbnails and large views: the
// browser keeps them a day and then asks again with If-None-Match.
const imageCache = "private, max-age=86400"

// fileVersion names the content of an indexed image's file as it is now:
// its id (from its content at ingest), size and modification time. A file
// changed since it was indexed gets a new version, so its thumbnail is
// made again.
func fileVersion(info tools.ImageInfo, kind string, side int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d\x00%d", kind, info.ID, side, info.FileSize, info.FileModTime.UnixNano()))
	return hex.EncodeToString(sum[:16])
}

// lookup finds the image of a request's {id}, answering the request when
// it cannot: 404 for an unknown id, 403 for a file outside the roots.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (tools.ImageInfo, bool) {
	info, err := s.svc.LookupImage(r.Context(), r.PathValue("id"))
	switch {
	case err == nil:
		return info, true
	case notFound(err):
		http.Error(w, "404 Not Found: "+message(err), http.StatusNotFound)
	case tools.IsInputError(err):
		http.Error(w, "403 Forbidden: "+message(err), http.StatusForbidden)
	default:
		s.log.Error("lookup", "id", r.PathValue("id"), "err", err)
		http.Error(w, "500 Internal Server Error: "+err.Error(), status(err))
	}
	return tools.ImageInfo{}, false
}

// revalidated sets the ETag (from version) and Cache-Control of an image
// answer and, when the browser already has this version, answers 304. It
// reports whether the request is answered.
func revalidated(w http.ResponseWriter, r *http.Request, version, cache string) bool {
	etag := `"` + version + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", cache)
	if notModified(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// readFailed answers a request whose image could not be read: 403 when
// the service refused the file (a link out of the roots, not a regular
// file), 500 otherwise.
func (s *Server) readFailed(w http.ResponseWriter, info tools.ImageInfo, err error) {
	s.log.Warn("read image", "path", info.Path, "err", err)
	code := http.StatusInternalServerError
	if tools.IsInputError(err) {
		code = http.StatusForbidden
	}
	w.Header().Del("ETag")
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, fmt.Sprintf("%d %s: %s", code, http.StatusText(code), message(err)), code)
}

// thumbnail serves a JPEG thumbnail of an indexed image (?s=512 for high
// density screens), from the cache when it was made before.
func (s *Server) thumbnail(w http.ResponseWriter, r *http.Request) {
	side := ThumbSide
	if r.URL.Query().Get("s") == strconv.Itoa(ThumbSide2x) {
		side = ThumbSide2x
	}
	info, ok := s.lookup(w, r)
	if !ok {
		return
	}
	key := fileVersion(info, "thumb", side)
	if revalidated(w, r, key, imageCache) {
		return
	}
	data, hit, err := s.thumbs.get(key, func() ([]byte, error) { return s.svc.HitThumbnail(r.Context(), info.Hit, side) })
	if err != nil {
		s.readFailed(w, info, err)
		return
	}
	w.Header().Set("X-Cache", map[bool]string{true: "hit", false: "miss"}[hit])
	w.Header().Set("Content-Type", "image/jpeg")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// image serves the large view of an indexed image: the file itself when
// browsers display it and it is small enough, else a JPEG of at most
// ViewMaxSide pixels (tools.Service.ReadImage).
func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	info, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if revalidated(w, r, fileVersion(info, "view", ViewMaxSide), imageCache) {
		return
	}
	img, err := s.svc.ReadImage(r.Context(), info.ID, ViewMaxSide)
	if err != nil {
		s.readFailed(w, info, err)
		return
	}
	w.Header().Set("Content-Type", img.MIMEType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img.Data))
}

// file serves an indexed image's file as it is, for opening or saving the
// original (ranges and If-Modified-Since as http.ServeContent does them).
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	info, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if revalidated(w, r, fileVersion(info, "file", 0), "private, no-cache") {
		return
	}
	img, err := s.svc.ReadImageFile(r.Context(), info.ID)
	if err != nil {
		s.readFailed(w, info, err)
		return
	}
	name := filepath.Base(info.Path)
	w.Header().Set("Content-Type", img.MIMEType)
	w.Header().Set("Content-Disposition", "inline; filename*=UTF-8''"+strings.ReplaceAll(url.QueryEscape(name), "+", "%20"))
	http.ServeContent(w, r, name, info.FileModTime, bytes.NewReader(img.Data))
}
