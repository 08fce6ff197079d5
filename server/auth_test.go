package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

func TestRoles(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	anon := e.dial("")
	stranger := e.dial("not-a-known-token-at-all")
	ingestCode := func(c *client.Client) codes.Code {
		_, err := c.IngestShipments(ctx(t), []*pb.ShipmentRecord{general("r", "CN-BJ", 2024, 0, 1)}, client.IngestOptions{MaxRetries: 1})
		return status.Code(err)
	}
	for _, c := range []struct {
		name string
		call func() codes.Code
		want codes.Code
	}{
		{"ErrReaderCannotIngest", func() codes.Code { return ingestCode(e.reader) }, codes.PermissionDenied},
		{"ErrNoTokenCannotIngest", func() codes.Code { return ingestCode(anon) }, codes.Unauthenticated},
		{"ErrUnknownTokenCannotRead", func() codes.Code {
			_, err := stranger.NationalCompute(ctx(t), 2024, 0)
			return status.Code(err)
		}, codes.Unauthenticated},
		{"ErrVendorCannotPutChip", func() codes.Code {
			_, err := e.vendorA.PutChipSpec(ctx(t), xeon8480())
			return status.Code(err)
		}, codes.PermissionDenied},
		{"ErrReaderCannotRetract", func() codes.Code {
			_, err := e.reader.Retract(ctx(t), []string{"x"}, true)
			return status.Code(err)
		}, codes.PermissionDenied},
		{"VendorCanRead", func() codes.Code {
			_, err := e.vendorA.NationalCompute(ctx(t), 2024, 0)
			return status.Code(err)
		}, codes.OK},
		{"ReaderCanListChips", func() codes.Code {
			_, err := e.reader.Chips.ListChipSpecs(ctx(t), &pb.ListChipSpecsRequest{})
			return status.Code(err)
		}, codes.OK},
		{"HealthNeedsNoToken", func() codes.Code {
			resp, err := healthpb.NewHealthClient(anon.Conn()).Check(ctx(t), &healthpb.HealthCheckRequest{})
			if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return codes.Unavailable
			}
			return status.Code(err)
		}, codes.OK},
		{"ReflectionNeedsNoToken", func() codes.Code {
			st, err := rpb.NewServerReflectionClient(anon.Conn()).ServerReflectionInfo(ctx(t))
			if err != nil {
				return status.Code(err)
			}
			if err := st.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
				return status.Code(err)
			}
			resp, err := st.Recv()
			if err != nil {
				return status.Code(err)
			}
			for _, s := range resp.GetListServicesResponse().GetService() {
				if s.GetName() == "computescale.v1.ComputeService" {
					return codes.OK
				}
			}
			return codes.NotFound
		}, codes.OK},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.call(); got != c.want {
				t.Errorf("code = %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseTokens(t *testing.T) {
	const file = `# role name token
admin ops admin-secret-0123456789
vendor inspur sha256:` + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" + `

reader dash reader-secret-0123456789
`
	tok, err := server.ParseTokens(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok.Lookup("admin-secret-0123456789"); !ok || id != (server.Identity{Name: "ops", Role: server.RoleAdmin}) {
		t.Errorf("admin = %v %v", id, ok)
	}
	if id, ok := tok.Lookup("test"); !ok || id.Name != "inspur" { // sha256("test")
		t.Errorf("hashed vendor = %v %v", id, ok)
	}
	if _, ok := tok.Lookup("admin-secret-01234567890"); ok {
		t.Error("a different token matched")
	}
	for _, bad := range []string{"admin ops", "root ops secret-0123456789abcdef", "admin ops short", "vendor v sha256:abc"} {
		if _, err := server.ParseTokens(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseTokens(%q) accepted", bad)
		}
	}
}

// TestRevokedTokenAfterReload is what SIGHUP does (cmd/computescale): the
// token table is replaced; a removed token is refused from the next call on,
// while a stream it opened before goes on.
func TestRevokedTokenAfterReload(t *testing.T) {
	tokens := server.NewTokens()
	tokens.Add(readerToken, server.Identity{Name: "reader", Role: server.RoleReader})
	e := newEnvWith(t, func(e *env) { e.tokens = tokens })
	watch, err := pb.NewWatchServiceClient(e.reader.Conn()).Watch(ctx(t), &pb.WatchRequest{ProgressNotify: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil { // a progress notification: the stream is up
		t.Fatal(err)
	}
	fresh, _ := server.ParseTokens(strings.NewReader("reader other reader-token-for-someone-else\n"))
	tokens.Replace(fresh)
	if _, err := e.reader.NationalCompute(ctx(t), 2024, 0); status.Code(err) != codes.Unauthenticated {
		t.Errorf("revoked token: %v, want Unauthenticated", err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Errorf("the open stream was dropped by the reload: %v", err)
	}
}
