package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (chromedp's
// included, once its browser is closed).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The browser tests drive Debian's chromium (package chromium) through
// the DevTools protocol with chromedp. Without it they skip, in one
// line, unless CI=true, where they fail: CI installs it (.ci/run).

// Viewports: a laptop and a phone.
const (
	deskW, deskH   = 1200, 760
	phoneW, phoneH = 390, 760
)

// chromium finds the browser, or skips (fails under CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("RINGCAST_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found, and CI=true: the browser tests must run (apt-get install chromium)")
	}
	t.Skip("chromium not found: skipping the browser tests (apt-get install chromium to run them)")
	return ""
}

// shotsDir is where this run's screenshots go: one directory per test
// binary run, printed once.
var shotsDir = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "ringcast-web-shots-")
	if err != nil {
		panic(err)
	}
	fmt.Printf("browser screenshots in %s\n", dir)
	return dir
})

// browser is one headless Chromium for a test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	// As root in a sandbox: no sandbox, no GPU; and no traffic of
	// Chromium's own (this machine's network is closed).
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(deskW, deskH),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &browser{t: t, ctx: ctx}
}

// page is one tab in a browser context of its own (its own storage), as
// a second person's browser would be.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context

	w, h int64 // the viewport

	mu       sync.Mutex
	problems []string // console errors and warnings, exceptions, failed loads
	// netOK: failed network loads are expected now (a node was killed).
	netOK atomic.Bool
}

func (b *browser) page(name string) *page {
	p := &page{t: b.t, name: name}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.listen))
	p.ctx = ctx
	// The first action opens the tab, which lives as long as the context
	// of that call: p.ctx, not one with a timeout.
	p.w, p.h = deskW, deskH
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(deskW, deskH)); err != nil {
		b.t.Fatalf("%s: open tab: %v", name, err)
	}
	b.t.Cleanup(func() {
		cancel()
		p.checkConsole()
	})
	return p
}

// listen collects what the page says went wrong. It runs on chromedp's
// event loop, so it only records.
func (p *page) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			args = append(args, string(a.Value)+a.Description)
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.EntryLevelError && e.Level != log.EntryLevelWarning {
			return
		}
		if e.Source == log.EntrySourceNetwork && p.netOK.Load() {
			return
		}
		msg = fmt.Sprintf("%s %s: %s %s", e.Source, e.Level, e.Text, e.URL)
	default:
		return
	}
	p.mu.Lock()
	p.problems = append(p.problems, msg)
	p.mu.Unlock()
}

// checkConsole fails the test if the page reported any problem.
func (p *page) checkConsole() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.problems {
		p.t.Errorf("%s: console: %s", p.name, m)
	}
	p.problems = nil
}

// do runs actions, failing the test on error (or after 20 s).
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](p *page, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: eval %s: %v", p.name, js, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds; on timeout it fails
// with what describe (a JavaScript expression) says about the page.
func (p *page) wait(what, cond, describe string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// An error counts as not yet: the page may be between documents.
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if ok && err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.shot("timeout")
			p.t.Fatalf("%s: timed out after %v waiting for %s; page: %s", p.name, timeout, what, eval[string](p, "String("+describe+")"))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// shot saves a screenshot at desktop and at phone width.
func (p *page) shot(name string) {
	p.t.Helper()
	for _, vp := range []struct {
		suffix string
		w, h   int64
	}{{"desktop", deskW, deskH}, {"phone", phoneW, phoneH}} {
		png := p.capture(vp.w, vp.h)
		file := fmt.Sprintf("%s-%s-%s-%s.png", strings.ReplaceAll(p.t.Name(), "/", "_"), p.name, name, vp.suffix)
		if err := os.WriteFile(filepath.Join(shotsDir(), file), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	p.do(chromedp.EmulateViewport(p.w, p.h))
}

// viewport sets the page's size.
func (p *page) viewport(w, h int64) {
	p.t.Helper()
	p.w, p.h = w, h
	p.do(chromedp.EmulateViewport(w, h))
}

// capture takes a PNG of the viewport at width x height.
func (p *page) capture(w, h int64) []byte {
	p.t.Helper()
	p.do(chromedp.EmulateViewport(w, h))
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	return png
}

// enter presses Enter as a keyboard does: the key's default action (a
// new line, a form submit) is the keydown's, so preventDefault stops it.
// (kb.Enter sends a separate char event that inserts a line whatever the
// page did with the keydown.)
func enter(mods ...chromedp.Modifier) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		for _, m := range mods {
			down.Modifiers |= int64(m)
		}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
		return err
	})
}
