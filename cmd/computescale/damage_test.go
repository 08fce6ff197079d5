package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/store/storetest"
)

// damageChipsPage overwrites, in the closed store file at path, the
// page holding the chip catalog with garbage (as a torn write or a bad
// sector would) and returns the page's id.
func damageChipsPage(t *testing.T, path string) uint64 {
	t.Helper()
	page, err := storetest.DamageBucketPage(path, "chips")
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// TestDamagedDatabase: with a damaged page, serve --check-on-start refuses
// to start and says why; without the check the server starts, and Verify
// answers DataLoss naming the page rather than Internal. A database another
// server holds is refused with a message saying so.
func TestDamagedDatabase(t *testing.T) {
	cfg := cliServeConfig(filepath.Join(t.TempDir(), "d.db"))
	cfg.maxBatch, cfg.watchBuffer, cfg.progressInterval = 1000, 16, time.Second
	m, tokens, secrets := startCLIServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := loadCatalogOnly(ctx, m.Addr(), secrets[demoAdmin]); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrLockedByAnotherServer", func(t *testing.T) {
		second := cfg
		_, err := startServer(second, tokens)
		if err == nil || !strings.Contains(err.Error(), "locked by another process") {
			t.Fatalf("second server on the file: %v, want a refusal saying another process holds it", err)
		}
	})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	page := damageChipsPage(t, cfg.db)
	t.Run("ErrCheckOnStart", func(t *testing.T) {
		checked := cfg
		checked.checkOnStart = true
		m, err := startServer(checked, tokens)
		if err == nil {
			m.Close()
			t.Fatal("--check-on-start served a damaged file")
		}
		for _, want := range []string{"--check-on-start", "damaged", "not serving"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not say %q", err, want)
			}
		}
	})
	t.Run("ErrVerifyDataLoss", func(t *testing.T) {
		m, err := startServer(cfg, tokens)
		if err != nil {
			t.Fatalf("start without the check: %v", err)
		}
		defer m.Close()
		admin, err := client.New(m.Addr(), client.WithToken(secrets[demoAdmin]))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		_, err = admin.Verify(ctx)
		msg := strings.ToLower(status.Convert(err).Message())
		if status.Code(err) != codes.DataLoss || !strings.Contains(msg, "page") || !strings.Contains(msg, itoa(page)) {
			t.Fatalf("verify: %v, want DataLoss naming page %d", err, page)
		}
	})
	t.Run("ErrEmptyFile", func(t *testing.T) {
		empty := cfg
		empty.db = filepath.Join(t.TempDir(), "empty.db")
		os.WriteFile(empty.db, nil, 0o600)
		if m, err := startServer(empty, tokens); err == nil || !strings.Contains(err.Error(), "empty (0 bytes)") {
			if m != nil {
				m.Close()
			}
			t.Fatalf("0-byte file: %v, want a refusal", err)
		}
	})
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
