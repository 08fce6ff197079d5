package web_test

import (
	"context"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/demodata"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
	"github.com/computescale/computescale/web"
)

// Tokens of the test callers (the token file wants 16 characters or more).
const (
	adminToken  = "admin-token-0123456789"
	readerToken = "reader-token-0123456789"
	vendorToken = "vendor-token-0123456789"
)

// env is a real server on a bbolt file in a temp dir, served over gRPC on
// 127.0.0.1:0 (for the clients that load and change data) and through the
// dashboard on another 127.0.0.1 port.
type env struct {
	srv     *server.Server
	handler *web.Handler
	web     *httptest.Server
	admin   *client.Client
	vendor  *client.Client
	reader  *client.Client
}

// load says what newEnv puts in the store.
type load int

const (
	loadNothing load = iota
	loadCatalog      // the chip catalog only
	loadDemo         // catalog, demo feed, statistics and methodology, as `computescale demo` does
)

func newEnv(t *testing.T, what load) *env {
	t.Helper()
	return newEnvKeeping(t, what, false)
}

// newEnvKeeping is newEnv with the server's rank-uncertainty worker on or
// off (off in newEnv: it would analyse after every test's writes).
func newEnvKeeping(t *testing.T, what load, keepUncertainty bool) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "web.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tokens := server.NewTokens()
	tokens.Add(adminToken, server.Identity{Name: "admin", Role: server.RoleAdmin})
	tokens.Add(readerToken, server.Identity{Name: "reader", Role: server.RoleReader})
	tokens.Add(vendorToken, server.Identity{Name: "vendor", Role: server.RoleVendor})
	srv, err := server.New(server.Config{Store: db, Tokens: tokens, KeepUncertainty: keepUncertainty})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := srv.GRPCServer()
	go g.Serve(lis)
	srv.SetServing(true)
	e := &env{srv: srv, handler: web.New(web.Config{Server: srv, Tokens: tokens, PingInterval: time.Second})}
	e.web = httptest.NewServer(e.handler)
	e.admin, e.vendor, e.reader = dial(t, lis, adminToken), dial(t, lis, vendorToken), dial(t, lis, readerToken)
	t.Cleanup(func() {
		// The server first, which ends open event streams; the dashboard's
		// Close waits for them.
		srv.Close()
		e.web.Close()
		g.Stop()
		db.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if what >= loadCatalog {
		for _, c := range catalog.Chips() {
			if _, err := e.admin.PutChipSpec(ctx, protoconv.ChipToProto(c)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if what >= loadDemo {
		e.loadDemo(ctx, t)
	}
	return e
}

func dial(t *testing.T, lis net.Listener, token string) *client.Client {
	t.Helper()
	c, err := client.New(lis.Addr().String(), client.WithToken(token), client.WithDialOptions(grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) loadDemo(ctx context.Context, t *testing.T) {
	t.Helper()
	var recs []*pb.ShipmentRecord
	for _, r := range demodata.Shipments() {
		recs = append(recs, protoconv.RecordToProto(r))
	}
	e.ingest(ctx, t, recs...)
	var obs []*pb.Observation
	for _, o := range demodata.Observations() {
		obs = append(obs, protoconv.ObservationToProto(o))
	}
	sum, err := e.admin.PutObservations(ctx, obs, client.IngestOptions{})
	if err != nil || len(sum.Rejected) > 0 {
		t.Fatalf("put observations: %v %v", err, sum.Rejected)
	}
	if _, err := e.admin.PutMethodology(ctx, protoconv.MethodologyToProto(demodata.Methodology(), nil), false); err != nil {
		t.Fatal(err)
	}
}

// ingest sends shipment records as the vendor and returns the revision of
// the last batch.
func (e *env) ingest(ctx context.Context, t *testing.T, recs ...*pb.ShipmentRecord) uint64 {
	t.Helper()
	sum, err := e.vendor.IngestShipments(ctx, recs, client.IngestOptions{})
	if err != nil || len(sum.Rejected) > 0 {
		t.Fatalf("ingest: %v %v", err, sum.Rejected)
	}
	return sum.Revision
}

// aiServers is a shipment of n eight-GPU AI servers to a province in 2024.
func aiServers(id, province string, n int64) *pb.ShipmentRecord {
	return &pb.ShipmentRecord{RecordId: id, Province: province, Period: &pb.Period{Year: 2024, Quarter: 4},
		ServerClass: pb.ServerClass_SERVER_CLASS_AI_SERVER, Units: n, Components: []*pb.Component{
			{Count: 2, Chip: &pb.Component_ChipId{ChipId: "intel-xeon-platinum-8480p"}},
			{Count: 8, Chip: &pb.Component_ChipId{ChipId: "nvidia-h20"}},
		}}
}
