package server_test

import (
	"context"

	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

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
