package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Role is what a caller may do.
type Role string

// The roles of API.md: vendors ingest and retract their own records and read;
// readers read and watch; statisticians put the statistics observations
// and read and watch (official statistics are not a shipment vendor's to
// write, issue 12); admins do everything.
const (
	RoleVendor       Role = "vendor"
	RoleReader       Role = "reader"
	RoleStatistician Role = "statistician"
	RoleAdmin        Role = "admin"
)

// Identity is an authenticated caller. Name is the vendor name for vendors:
// the store keys records by it, so a vendor can only ever touch its own.
type Identity struct {
	Name string
	Role Role
}

type identityKey struct{}

// WithIdentity attaches a caller to ctx, for in-process callers of the
// handlers (the dashboard) that authenticated the caller themselves.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, &id)
}

// IdentityFrom returns the caller that the auth interceptor attached to ctx.
// The context holds a pointer, so that attaching a caller to every call
// does not box a copy of it.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	if !ok {
		return Identity{}, false
	}
	return *id, true
}

// Tokens maps bearer tokens to identities. Only SHA-256 digests are kept in
// memory, so a heap dump or a log line can never reveal a token. A presented
// token is hashed and its digest looked up in a map: the digests are not
// secrets (the token file may hold them in the clear, as sha256:HEX), so the
// lookup's timing gives nothing away that could be turned into a token, and
// one lookup costs the same with ten tokens or ten thousand.
type Tokens struct {
	mu      sync.RWMutex
	digests map[[sha256.Size]byte]*caller
}

// caller is what a token stands for, with what every call by it needs
// prepared once, when the token is registered, rather than per call.
// Immutable after newCaller: calls share it.
type caller struct {
	id Identity
	// logFields are the call log's caller fields. len == cap, so that the
	// logging middleware's append (AddFields) copies rather than writes
	// into this shared array.
	logFields logging.Fields
}

func newCaller(id Identity) *caller {
	f := logging.Fields{"caller", id.Name, "role", string(id.Role)}
	return &caller{id: id, logFields: f[:len(f):len(f)]}
}

// NewTokens returns an empty token table.
func NewTokens() *Tokens { return &Tokens{digests: map[[sha256.Size]byte]*caller{}} }

// Add registers a plaintext token.
func (t *Tokens) Add(token string, id Identity) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.digests[sha256.Sum256([]byte(token))] = newCaller(id)
}

// Lookup returns the identity of a plaintext token.
func (t *Tokens) Lookup(token string) (Identity, bool) {
	c := t.lookup(token)
	if c == nil {
		return Identity{}, false
	}
	return c.id, true
}

func (t *Tokens) lookup(token string) *caller {
	d := sha256.Sum256([]byte(token))
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.digests[d]
}

// Replace swaps in the entries of u, for reloading the token file.
func (t *Tokens) Replace(u *Tokens) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.digests = u.digests
}

// LoadTokens reads a token file: one entry per line, `ROLE NAME TOKEN`, where
// TOKEN is the token itself or `sha256:` and its hex digest (so the file need
// not hold secrets). Blank lines and lines starting with # are skipped.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open token file: %w", err)
	}
	defer f.Close()
	t, err := ParseTokens(f)
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return t, nil
}

// ParseTokens parses the token file format of LoadTokens.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := NewTokens()
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want ROLE NAME TOKEN, got %d fields", n, len(f))
		}
		role := Role(f[0])
		if role != RoleVendor && role != RoleReader && role != RoleStatistician && role != RoleAdmin {
			return nil, fmt.Errorf("line %d: role %q is not vendor, reader, statistician or admin", n, f[0])
		}
		id := Identity{Name: f[1], Role: role}
		if hexDigest, ok := strings.CutPrefix(f[2], "sha256:"); ok {
			b, err := hex.DecodeString(hexDigest)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("line %d: sha256: needs 64 hex digits", n)
			}
			t.digests[[sha256.Size]byte(b)] = newCaller(id)
			continue
		}
		if len(f[2]) < 16 {
			return nil, fmt.Errorf("line %d: tokens must be at least 16 characters", n)
		}
		t.Add(f[2], id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	return t, nil
}

// access lists the roles allowed for each method; a method missing here is
// refused to everyone, so a new RPC cannot be exposed by accident.
var access = map[string][]Role{
	"/computescale.v1.ChipService/PutChipSpec":            {RoleAdmin},
	"/computescale.v1.ChipService/GetChipSpec":            {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.ChipService/ListChipSpecs":          {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IngestService/IngestShipments":      {RoleAdmin, RoleVendor},
	"/computescale.v1.IngestService/RetractShipments":     {RoleAdmin, RoleVendor},
	"/computescale.v1.ComputeService/GetProvinceCompute":  {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.ComputeService/ListProvinceCompute": {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.ComputeService/GetNationalCompute":  {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IngestService/PutObservations":      {RoleAdmin, RoleStatistician},
	"/computescale.v1.IndexService/GetIndex":              {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IndexService/ListIndex":             {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IndexService/GetMethodology":        {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IndexService/PutMethodology":        {RoleAdmin},
	"/computescale.v1.IndexService/EvaluateWeights":       {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IndexService/AnalyzeRelationship":   {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IndexService/GetRankUncertainty":    {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.IndexService/ListRankUncertainty":   {RoleAdmin, RoleReader, RoleStatistician, RoleVendor},
	"/computescale.v1.WatchService/Watch":                 {RoleAdmin, RoleReader, RoleStatistician},
	"/computescale.v1.WatchService/WatchMany":             {RoleAdmin, RoleReader, RoleStatistician},
	"/computescale.v1.AdminService/Backup":                {RoleAdmin},
	"/computescale.v1.AdminService/Verify":                {RoleAdmin},
	"/computescale.v1.AdminService/Compact":               {RoleAdmin},
}

// public reports whether a method needs no token: probes and grpcurl must
// work unauthenticated (API.md, Roles).
func public(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

func (s *Server) authenticate(ctx context.Context) (context.Context, error) {
	method, _ := grpc.Method(ctx)
	if public(method) {
		return ctx, nil
	}
	token, err := auth.AuthFromMD(ctx, "bearer")
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "missing bearer token in authorization metadata")
	}
	c := s.tokens.lookup(token)
	if c == nil {
		return nil, status.Error(codes.Unauthenticated, "unknown token")
	}
	for _, r := range access[method] {
		if r == c.id.Role {
			// The logging interceptor, outside this one, reads these at the end
			// of the call: the caller's name, never its token.
			logging.AddFields(ctx, c.logFields)
			return context.WithValue(ctx, identityKey{}, &c.id), nil
		}
	}
	return nil, status.Errorf(codes.PermissionDenied, "role %s may not call %s", c.id.Role, method)
}

// Len is how many tokens are registered.
func (t *Tokens) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.digests)
}
