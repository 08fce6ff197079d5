// Command screenshots saves full-page PNGs of dashboard pages with headless
// Chromium, each once the element that shows its data is drawn; it is the
// browser half of scripts/screenshots.sh, which starts the demo and runs it.
//
//	go run ./scripts/screenshots -base http://127.0.0.1:17480 -token T -out docs/screenshots \
//	    dashboard.png=/='#ranking g.bar' province.png=/province/440000='#province svg.ranking'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:7480", "the dashboard's URL")
	token := flag.String("token", "", "a token of any role (sent once as ?token=, then the cookie)")
	out := flag.String("out", "docs/screenshots", "folder to write the PNGs into")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: screenshots [flags] NAME.png=PATH=CSS-SELECTOR...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*base, *token, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(base, token, out string, shots []string) error {
	if len(shots) == 0 {
		return fmt.Errorf("no NAME.png=PATH=CSS-SELECTOR given")
	}
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		return fmt.Errorf("no Chromium on PATH (apt-get install -y chromium fonts-wqy-microhei)")
	}
	profile, err := os.MkdirTemp("", "screenshots-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(900, 1200),
	)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for i, shot := range shots {
		name, rest, ok := strings.Cut(shot, "=")
		path, selector, ok2 := strings.Cut(rest, "=")
		if !ok || !ok2 || name == "" || selector == "" {
			return fmt.Errorf("%q: want NAME.png=PATH=CSS-SELECTOR", shot)
		}
		url := strings.TrimRight(base, "/") + path
		if i == 0 {
			url += "?token=" + token
		}
		if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(selector))); err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
			return err
		}
		fmt.Println(filepath.Join(out, name))
	}
	return nil
}
