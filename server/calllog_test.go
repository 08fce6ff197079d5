package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

const provinceMethod = "/computescale.v1.ComputeService/GetProvinceCompute"

func provinceHandler(s *Server) grpc.UnaryHandler {
	return func(ctx context.Context, req any) (any, error) {
		return s.GetProvinceCompute(ctx, req.(*pb.GetProvinceComputeRequest))
	}
}

// syncBuffer collects log output from concurrent calls.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestCallLogLine: every RPC, refused or not, leaves exactly one line with
// its method, code, duration and (when known) caller, and never the token.
func TestCallLogLine(t *testing.T) {
	var buf syncBuffer
	s := chainServer(t, &buf, Limits{CallsPerSecond: 1})
	call := chained(s, provinceMethod, provinceHandler(s))
	req := &pb.GetProvinceComputeRequest{Province: "CN-GD", Year: 2024}
	ctx, cancel := context.WithTimeout(callCtx(provinceMethod, chainReaderToken), time.Hour)
	defer cancel()
	if _, err := call(ctx, req); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if _, err := call(callCtx(provinceMethod, chainReaderToken), req); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second call within the second: %v, want ResourceExhausted", err)
	}
	if _, err := call(callCtx(provinceMethod, "not-a-known-token-0123456789"), req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("unknown token: %v, want Unauthenticated", err)
	}
	lines := buf.lines(t)
	if len(lines) != 3 {
		t.Fatalf("got %d log lines, want 3: %v", len(lines), lines)
	}
	for i, want := range []struct {
		code, caller, level string
	}{{"OK", "reader-1", "INFO"}, {"ResourceExhausted", "reader-1", "WARN"}, {"Unauthenticated", "", "INFO"}} {
		l := lines[i]
		if l["grpc.service"] != "computescale.v1.ComputeService" || l["grpc.method"] != "GetProvinceCompute" {
			t.Errorf("line %d: method fields %v / %v", i, l["grpc.service"], l["grpc.method"])
		}
		if l["grpc.code"] != want.code || l["level"] != want.level {
			t.Errorf("line %d: code %v level %v, want %s %s", i, l["grpc.code"], l["level"], want.code, want.level)
		}
		if d, ok := l["grpc.duration"].(float64); !ok || d <= 0 || d > 60 {
			t.Errorf("line %d: grpc.duration %#v, want a number of seconds: %v", i, l["grpc.duration"], l)
		}
		if got, _ := l["caller"].(string); got != want.caller {
			t.Errorf("line %d: caller %q, want %q", i, got, want.caller)
		}
		if want.caller != "" && l["role"] != "reader" {
			t.Errorf("line %d: role %v, want reader", i, l["role"])
		}
		if l["peer.address"] != "127.0.0.1:50123" {
			t.Errorf("line %d: peer.address %v", i, l["peer.address"])
		}
	}
	if d, _ := lines[0]["grpc.request.deadline"].(string); d == "" {
		t.Errorf("the call with a deadline logged none: %v", lines[0])
	}
	if _, ok := lines[1]["grpc.request.deadline"]; ok {
		t.Errorf("a call without a deadline logged one: %v", lines[1])
	}
	if n := len(*s.methodLogs.Load()); n != 1 {
		t.Errorf("%d method handlers for one method, want 1", n)
	}
	if strings.Contains(buf.b.String(), "token-0123456789") {
		t.Error("a token reached the log")
	}
}

// BenchmarkUnaryChain is the interceptor chain around a cached
// GetProvinceCompute, in process: what the server does per query beyond a
// bare grpc-go server, without the transport.
func BenchmarkUnaryChain(b *testing.B) {
	s := chainServer(b, io.Discard, Limits{})
	call := chained(s, provinceMethod, provinceHandler(s))
	req := &pb.GetProvinceComputeRequest{Province: "CN-GD", Year: 2024}
	ctx := callCtx(provinceMethod, chainReaderToken)
	if _, err := call(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := call(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHandlerOnly is the cached handler alone, for comparison.
func BenchmarkHandlerOnly(b *testing.B) {
	s := chainServer(b, io.Discard, Limits{})
	h := provinceHandler(s)
	req := &pb.GetProvinceComputeRequest{Province: "CN-GD", Year: 2024}
	ctx := callCtx(provinceMethod, chainReaderToken)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
