package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

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

// allowed is the documented access table (README, Roles): which roles may
// call each RPC. It is written out here rather than read from the server, so
// that the test checks the server against the documentation.
var allowed = map[string][]string{
	"ChipService/PutChipSpec":            {"admin"},
	"ChipService/GetChipSpec":            {"admin", "reader", "statistician", "vendor"},
	"ChipService/ListChipSpecs":          {"admin", "reader", "statistician", "vendor"},
	"IngestService/IngestShipments":      {"admin", "vendor"},
	"IngestService/RetractShipments":     {"admin", "vendor"},
	"IngestService/PutObservations":      {"admin", "statistician"},
	"ComputeService/GetProvinceCompute":  {"admin", "reader", "statistician", "vendor"},
	"ComputeService/ListProvinceCompute": {"admin", "reader", "statistician", "vendor"},
	"ComputeService/GetNationalCompute":  {"admin", "reader", "statistician", "vendor"},
	"IndexService/GetIndex":              {"admin", "reader", "statistician", "vendor"},
	"IndexService/ListIndex":             {"admin", "reader", "statistician", "vendor"},
	"IndexService/GetMethodology":        {"admin", "reader", "statistician", "vendor"},
	"IndexService/PutMethodology":        {"admin"},
	"IndexService/EvaluateWeights":       {"admin", "reader", "statistician", "vendor"},
	"IndexService/AnalyzeRelationship":   {"admin", "reader", "statistician", "vendor"},
	"IndexService/GetRankUncertainty":    {"admin", "reader", "statistician", "vendor"},
	"IndexService/ListRankUncertainty":   {"admin", "reader", "statistician", "vendor"},
	"WatchService/Watch":                 {"admin", "reader", "statistician"},
	"WatchService/WatchMany":             {"admin", "reader", "statistician"},
	"AdminService/Backup":                {"admin"},
	"AdminService/Verify":                {"admin"},
	"AdminService/Compact":               {"admin"},
}

// TestAuthMatrix calls every RPC of every computescale service as each kind
// of caller: no token and an unknown token must be Unauthenticated, a role
// outside the table PermissionDenied, and a role inside it must get past auth
// (any other code: the empty request may well be invalid).
func TestAuthMatrix(t *testing.T) {
	e := newEnv(t)
	callers := map[string]string{"none": "", "unknown": "an-unknown-token-0123456789", "vendor": vendorAToken, "reader": readerToken, "statistician": statToken, "admin": adminToken}
	descs := []grpc.ServiceDesc{pb.ChipService_ServiceDesc, pb.IngestService_ServiceDesc, pb.ComputeService_ServiceDesc,
		pb.IndexService_ServiceDesc, pb.WatchService_ServiceDesc, pb.AdminService_ServiceDesc}
	seen := 0
	for _, d := range descs {
		short := d.ServiceName[len("computescale.v1."):]
		var methods []string
		streams := map[string]grpc.StreamDesc{}
		for _, m := range d.Methods {
			methods = append(methods, m.MethodName)
		}
		for _, s := range d.Streams {
			methods = append(methods, s.StreamName)
			streams[s.StreamName] = s
		}
		for _, m := range methods {
			key := short + "/" + m
			roles, ok := allowed[key]
			if !ok {
				t.Errorf("%s is not in the documented access table", key)
				continue
			}
			seen++
			for who, token := range callers {
				t.Run(key+"/"+who, func(t *testing.T) {
					code := call(t, e, token, "/"+d.ServiceName+"/"+m, streams[m], len(streams) > 0 && streams[m].StreamName != "")
					want := "pass"
					switch {
					case who == "none" || who == "unknown":
						want = codes.Unauthenticated.String()
					case !contains(roles, who):
						want = codes.PermissionDenied.String()
					}
					got := code.String()
					if want == "pass" && code != codes.Unauthenticated && code != codes.PermissionDenied {
						got = "pass"
					}
					if got != want {
						t.Errorf("%s as %s: %s, want %s", key, who, code, want)
					}
				})
			}
		}
	}
	if seen != len(allowed) {
		t.Errorf("table has %d RPCs, services have %d", len(allowed), seen)
	}
}

// call makes one call with an empty request and returns its code.
func call(t *testing.T, e *env, token, method string, sd grpc.StreamDesc, isStream bool) codes.Code {
	c := e.dial(token)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !isStream {
		return status.Code(c.Conn().Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{}))
	}
	st, err := c.Conn().NewStream(ctx, &sd, method)
	if err != nil {
		return status.Code(err)
	}
	// A refused stream can fail SendMsg with io.EOF; its status comes from
	// RecvMsg, so send errors are not the answer.
	_ = st.SendMsg(&emptypb.Empty{})
	_ = st.CloseSend()
	err = st.RecvMsg(&emptypb.Empty{})
	if err != nil && ctx.Err() != nil {
		return codes.DeadlineExceeded // a live stream (Watch) that authenticated and waited
	}
	return status.Code(err)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
