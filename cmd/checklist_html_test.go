package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dbgtool/dbg/checklist"
)

// stepDuration matches the measured step durations of the HTML report, the one thing that differs
// between runs.
var stepDuration = regexp.MustCompile(`<span class="dur">\d+ ms</span>`)

func normalizeHTML(s string) string {
	return stepDuration.ReplaceAllString(s, `<span class="dur">0 ms</span>`)
}

func checklistHTML(t *testing.T, bundle string) string {
	t.Helper()
	code, out, errOut := runDbg(t, nil, "checklist", "--from", filepath.Join("..", "testdata", "incidents", bundle), "-o", "html")
	if code != 0 {
		t.Fatalf("dbg checklist --from %s -o html: exit %d: %s", bundle, code, errOut)
	}
	return normalizeHTML(out)
}

// TestChecklistHTMLGolden: the HTML page of a bundled incident, byte for byte, and the same on every
// run (the checklist runs steps concurrently and the page ranges over maps).
func TestChecklistHTMLGolden(t *testing.T) {
	first := checklistHTML(t, "slow-dependency")
	golden(t, "checklist-slow-dependency.html", []byte(first))
	for i := 0; i < 3; i++ {
		if again := checklistHTML(t, "slow-dependency"); again != first {
			t.Fatalf("run %d differs from the first:\n%s", i+2, firstDiff(first, again))
		}
	}
}

// TestChecklistHTMLContent checks the page against the JSON report of the same bundle: the root cause
// row, one waterfall bar per exemplar span, the ten steps.
func TestChecklistHTMLContent(t *testing.T) {
	page := checklistHTML(t, "slow-dependency")
	code, out, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/slow-dependency", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep checklist.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Exemplar == nil || rep.TopRootCause() == nil {
		t.Fatal("the bundle's report has no exemplar or no root cause")
	}
	if got := strings.Count(page, `<rect class="span`); got != len(rep.Exemplar.Spans) {
		t.Errorf("%d span bars, want %d (one per exemplar span)", got, len(rep.Exemplar.Spans))
	}
	if got := strings.Count(page, `<li class="step status-`); got != 10 {
		t.Errorf("%d steps, want 10", got)
	}
	row := regexp.MustCompile(`(?s)<tr class="finding tier-root_cause" id="root-cause".*?</tr>`).FindString(page)
	if !strings.Contains(row, "fraud-check") || !strings.Contains(row, "slow_span") {
		t.Errorf("root-cause row does not name fraud-check slow_span:\n%s", row)
	}
	if strings.Contains(page, "<script") || regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(page) {
		t.Error("the page has a script or loads an external asset")
	}
}

// chromiumPath finds Debian's chromium (scripts/test.sh installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH: install Debian's chromium package (scripts/test.sh does), or run with -short")
	return ""
}

// pageFacts is what the test reads from the DOM the browser rendered.
type pageFacts struct {
	WaterfallRects int       `json:"waterfall_rects"`
	RectWidths     []float64 `json:"rect_widths"`
	RootCauseRow   string    `json:"root_cause_row"`
	Steps          int       `json:"steps"`
	Sparklines     int       `json:"sparklines"`
	Scripts        int       `json:"scripts"`
	Title          string    `json:"title"`
}

const factsJS = `(() => {
	const rects = [...document.querySelectorAll('svg#waterfall rect.span')];
	const row = document.querySelector('tr#root-cause');
	return {
		waterfall_rects: rects.length,
		rect_widths: rects.map(r => r.getBoundingClientRect().width),
		root_cause_row: row ? row.innerText : '',
		steps: document.querySelectorAll('ol.steps li.step').length,
		sparklines: document.querySelectorAll('svg.spark path').length,
		scripts: document.scripts.length,
		title: document.title,
	};
})()`

// TestChecklistHTMLInChromium opens the report in real headless Chromium: the waterfall renders with
// one visible bar per exemplar span, the root cause row is there, and the console has no error. A page
// that does log an error is caught, so the console check can fail. DBG_HTML_SCREENSHOT=FILE.png keeps
// a full-page screenshot to look at.
func TestChecklistHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("real Chromium: not in -short mode")
	}
	chrome := chromiumPath(t)
	keep := os.Getenv("DBG_HTML_SCREENSHOT") // read before runDbg clears DBG_*
	page := checklistHTML(t, "slow-dependency")
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	broken := filepath.Join(dir, "broken.html")
	if err := os.WriteFile(report, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte(`<!doctype html><title>x</title><script>console.error("planted"); undefinedFn();</script>`), 0o644); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first Run starts the browser and ties it to ctx (a timeout there would stop the browser); the
	// allocator gives up by itself when the browser does not answer. Later actions are time-limited.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}

	load := func(path string) (pageFacts, []string, []byte) {
		t.Helper()
		var (
			mu   sync.Mutex
			msgs []string
			done = make(chan struct{})
		)
		listen, stopListening := context.WithCancel(ctx)
		console := chromedp.Console(listen)
		go func() {
			defer close(done)
			for m, err := range console {
				if err != nil {
					return
				}
				mu.Lock()
				switch {
				case m.Type == chromedp.ConsoleError || m.IsException():
					msgs = append(msgs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				case m.Type == chromedp.ConsoleWarning:
					t.Logf("console warning (not failing the test): %s", m)
				}
				mu.Unlock()
			}
		}()
		actx, cancelA := context.WithTimeout(ctx, 60*time.Second)
		defer cancelA()
		if err := chromedp.Do(actx, chromedp.Navigate("file://"+path), chromedp.WaitReady("body")); err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		facts, err := chromedp.Run(actx, chromedp.Evaluate[pageFacts](factsJS))
		if err != nil {
			t.Fatalf("read the DOM of %s: %v", path, err)
		}
		shot, err := chromedp.Run(actx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", path, err)
		}
		time.Sleep(200 * time.Millisecond) // let late console events arrive
		stopListening()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return facts, slices.Clone(msgs), shot
	}

	// The control: a page that logs an error and throws is caught.
	if _, msgs, _ := load(broken); len(msgs) < 2 {
		t.Fatalf("the console listener missed the planted error and exception: %q", msgs)
	}

	facts, msgs, shot := load(report)
	if len(msgs) > 0 {
		t.Errorf("console errors while rendering the report:\n%s", strings.Join(msgs, "\n"))
	}
	if keep != "" {
		if err := os.WriteFile(keep, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", keep)
	}
	if len(shot) < 10000 {
		t.Errorf("screenshot of %d bytes: the page rendered nothing", len(shot))
	}

	var rep checklist.Report
	code, out, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/slow-dependency", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Exemplar == nil {
		t.Fatalf("JSON report: %v (exemplar %v)", err, rep.Exemplar)
	}
	if facts.WaterfallRects != len(rep.Exemplar.Spans) || facts.WaterfallRects == 0 {
		t.Errorf("rendered %d waterfall bars, want %d (one per exemplar span)", facts.WaterfallRects, len(rep.Exemplar.Spans))
	}
	for i, w := range facts.RectWidths {
		if w < 1 {
			t.Errorf("waterfall bar %d is %.1fpx wide: not visible", i, w)
		}
	}
	if !strings.Contains(facts.RootCauseRow, "root cause") || !strings.Contains(facts.RootCauseRow, "fraud-check") {
		t.Errorf("root cause row: %q", facts.RootCauseRow)
	}
	if facts.Steps != 10 || facts.Sparklines == 0 || facts.Scripts != 0 || facts.Title != "dbg checklist: frontend" {
		t.Errorf("DOM facts: %+v", facts)
	}
}
