// Command web measures the web page (rag-search serve) over a real index:
// time to the first byte of the page, and round trips of a text search, a
// filtered search, a similar-images search, a search by an uploaded image
// and thumbnails (made, cached, not modified), as a browser makes them
// (one keep-alive connection; the page on new connections for the first
// byte). Each run starts a fresh server process; the report gives the
// median over the runs of each run's percentiles, with the load average.
// It is driven by scripts/bench/sections/web.sh.
//
//	web -rag-search BIN -store DIR -runs 3 -out SECTION.md
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/tinyshapes"
)

type options struct {
	bin, store, out, invocation, upload string
	runs, n                             int
}

func main() {
	var o options
	flag.StringVar(&o.bin, "rag-search", "rag-search", "the rag-search binary")
	flag.StringVar(&o.store, "store", "", "the index to serve")
	flag.StringVar(&o.out, "out", "", "file to write the Markdown section to (default stdout)")
	flag.StringVar(&o.invocation, "invocation", "scripts/bench.sh web", "the command the section says made it")
	flag.StringVar(&o.upload, "upload", "examples/images/中国宝塔.jpg", "the image the upload search posts")
	flag.IntVar(&o.runs, "runs", 3, "server processes, each measured afresh")
	flag.IntVar(&o.n, "n", 200, "requests per measurement")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "web bench:", err)
		os.Exit(1)
	}
}

// queries are the text searches, cycled through (English and Chinese).
var queries = func() []string {
	var q []string
	for _, c := range tinyshapes.ClassList() {
		q = append(q, "a photo of a "+c.String())
	}
	return append(q, "红色的圆 a red circle", "蓝色方块 a blue square", "something yellow", "a purple shape")
}()

// measurement is one kind of request, timed n times in a run.
type measurement struct {
	name string
	ms   [][]float64 // per run
}

type report struct {
	images        int
	rss           []float64 // MiB, per run
	loads         []string
	cold          []float64 // first byte of the first page, per run
	start         time.Time
	measurements  []*measurement
	byName        map[string]*measurement
	thumbsPerPage int
}

func (r *report) add(name string, run int, v float64) {
	m, ok := r.byName[name]
	if !ok {
		m = &measurement{name: name}
		r.byName[name] = m
		r.measurements = append(r.measurements, m)
	}
	for len(m.ms) <= run {
		m.ms = append(m.ms, nil)
	}
	m.ms[run] = append(m.ms[run], v)
}

func run(o options) error {
	if o.store == "" {
		return errors.New("give -store")
	}
	up, err := os.ReadFile(o.upload)
	if err != nil {
		return err
	}
	r := &report{byName: map[string]*measurement{}, start: time.Now().UTC()}
	for i := range o.runs {
		if err := oneRun(o, r, i, up); err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
	}
	w := io.Writer(os.Stdout)
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return writeReport(w, o, r)
}

var servingLine = regexp.MustCompile(`rag-search: serving (http://\S+) \(model (\S+), (\d+) images\)`)

func oneRun(o options, r *report, run int, upload []byte) error {
	thumbs, err := os.MkdirTemp("", "cliprag-webbench-thumbs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(thumbs)
	load0 := loadAvg()
	cmd := exec.Command(o.bin, "serve", "-store", o.store, "-addr", "127.0.0.1:0", "-thumbnail-cache", thumbs, "-quiet")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	base, err := waitServing(bufio.NewScanner(stderr), r)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	// The very first page of a new server (it reads the index statistics).
	ttfb, err := firstByte(fresh, base)
	if err != nil {
		return err
	}
	r.cold = append(r.cold, ttfb)
	for range o.n {
		ms, err := firstByte(fresh, base)
		if err != nil {
			return err
		}
		r.add("first byte of the page (new connection)", run, ms)
	}
	var page string
	for i := range o.n {
		ms, body, err := roundTrip(client, "GET", base+"?q="+url.QueryEscape(queries[i%len(queries)]), nil, "")
		if err != nil {
			return err
		}
		r.add("text search, 48 results", run, ms)
		page = body
	}
	for i := range o.n {
		u := base + "?q=" + url.QueryEscape(queries[i%len(queries)]) + "&tags=triangle&min_score=0.2"
		ms, _, err := roundTrip(client, "GET", u, nil, "")
		if err != nil {
			return err
		}
		r.add("text search, tag and score filters", run, ms)
	}
	ids := hitIDs.FindAllStringSubmatch(page, -1)
	if len(ids) == 0 {
		return errors.New("the search page has no results")
	}
	for i := range o.n {
		ms, _, err := roundTrip(client, "GET", base+"?similar="+ids[i%len(ids)][1], nil, "")
		if err != nil {
			return err
		}
		r.add("similar images (an indexed example)", run, ms)
	}
	for range max(o.n/4, 1) {
		body, ctype := multipartBody(upload)
		ms, _, err := roundTrip(client, "POST", base, body, ctype)
		if err != nil {
			return err
		}
		r.add(fmt.Sprintf("search by an uploaded photo (%s, %d KB JPEG)", filepath.Base(o.upload), len(upload)/1000), run, ms)
	}
	r.thumbsPerPage = len(ids)
	etags := make([]string, len(ids))
	for i, id := range ids {
		ms, etag, err := thumb(client, base, id[1], "")
		if err != nil {
			return err
		}
		etags[i] = etag
		r.add("thumbnail, made (cache miss)", run, ms)
	}
	for range max(o.n/len(ids), 1) {
		for i, id := range ids {
			ms, _, err := thumb(client, base, id[1], "")
			if err != nil {
				return err
			}
			r.add("thumbnail, from the cache", run, ms)
			ms, _, err = thumb(client, base, id[1], etags[i])
			if err != nil {
				return err
			}
			r.add("thumbnail, not modified (304)", run, ms)
		}
	}
	r.rss = append(r.rss, vmHWM(cmd.Process.Pid))
	r.loads = append(r.loads, fmt.Sprintf("%.1f→%.1f", load0, loadAvg()))
	return nil
}

var hitIDs = regexp.MustCompile(`class="hit-link" href="/view/([^"]+)"`)

func waitServing(sc *bufio.Scanner, r *report) (string, error) {
	found := make(chan []string, 1)
	go func() {
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			} else {
				fmt.Fprintln(os.Stderr, sc.Text())
			}
		}
		close(found)
	}()
	select {
	case m, ok := <-found:
		if !ok {
			return "", errors.New("rag-search serve exited")
		}
		r.images, _ = strconv.Atoi(m[3])
		return m[1], nil
	case <-time.After(2 * time.Minute):
		return "", errors.New("rag-search serve printed no address")
	}
}

// firstByte returns the milliseconds from sending a GET to the first byte
// of the answer, reading the rest.
func firstByte(c *http.Client, u string) (float64, error) {
	var start, first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", u, nil)
	if err != nil {
		return 0, err
	}
	start = time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err == nil && res.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return ms(first.Sub(start)), err
}

// roundTrip returns the milliseconds from sending a request to the last
// byte of the answer, and the answer.
func roundTrip(c *http.Client, method, u string, body []byte, ctype string) (float64, string, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Origin", strings.TrimSuffix(u, "/"))
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err == nil && res.StatusCode != 200 {
		err = fmt.Errorf("%s %s: %s: %.300s", method, u, res.Status, b)
	}
	return ms(d), string(b), err
}

func thumb(c *http.Client, base, id, etag string) (float64, string, error) {
	req, err := http.NewRequest("GET", base+"thumb/"+id, nil)
	if err != nil {
		return 0, "", err
	}
	want := 200
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
		want = 304
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err == nil && res.StatusCode != want {
		err = fmt.Errorf("thumbnail %s: %s, want %d", id, res.Status, want)
	}
	return ms(d), res.Header.Get("ETag"), err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func multipartBody(img []byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "query.jpg")
	_, _ = fw.Write(img)
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}

// vmHWM is the peak resident memory of a process, in MiB.
func vmHWM(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// percentile returns the p-th percentile (0 to 100) of v, nearest rank.
func percentile(v []float64, p float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(len(s)-1, i))]
}

func median(v []float64) float64 { return percentile(v, 50) }

func f(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s/%s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func writeReport(w io.Writer, o options, r *report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Web page\n\nGenerated by `%s` (do not edit by hand; re-run the script).\n\n", o.invocation)
	fmt.Fprintf(&b, "- Machine: %s; %s\n", machine(), r.start.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Index: %d drawn tiny-shapes images (`bench gen-small`: 260–340 px, half PNG, half JPEG), indexed with `tiny-shapes` and shape tags into the embedded store.\n", r.images)
	fmt.Fprintf(&b, "- Server: `rag-search serve` (the real binary, a fresh process and an empty thumbnail cache per run), measured by `scripts/bench/web` over 127.0.0.1 from the same machine, one request at a time: %d runs, %d requests per measurement and run (a quarter of that for uploads; every thumbnail of one result page, %d, for the cache misses).\n", o.runs, o.n, r.thumbsPerPage)
	fmt.Fprintf(&b, "- Times are milliseconds from sending the request to the last byte of the answer (first byte: to the first byte, on a new connection each time); the others on one keep-alive connection, as a browser makes them. Each figure is the median over the runs of that run's percentile.\n")
	fmt.Fprintf(&b, "- Load: 1-minute load average before→after each run: %s (other jobs shared the machine).\n\n", strings.Join(r.loads, ", "))
	b.WriteString("| request | p50 ms | p90 ms | p99 ms | requests per run |\n|---|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| first page of a new server (index statistics read) | **%s** | | | 1 |\n", f(median(r.cold)))
	for _, m := range r.measurements {
		var p50, p90, p99 []float64
		for _, v := range m.ms {
			p50 = append(p50, percentile(v, 50))
			p90 = append(p90, percentile(v, 90))
			p99 = append(p99, percentile(v, 99))
		}
		fmt.Fprintf(&b, "| %s | **%s** | %s | %s | %d |\n", m.name, f(median(p50)), f(median(p90)), f(median(p99)), len(m.ms[0]))
	}
	fmt.Fprintf(&b, "\nPeak resident memory of the server: %s MiB (median of the runs' VmHWM).\n", f(median(r.rss)))
	b.WriteString("\nGoals (issue 17): first byte of the page under 50 ms and a search round trip p50 under 50 ms on a 10,000-image index with the tiny model.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
