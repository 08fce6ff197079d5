package main

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
)

// rig is a real server on 127.0.0.1 over a fresh bbolt file, with clients.
type rig struct {
	db      *store.DB
	srv     *server.Server
	grpc    *grpc.Server
	addr    string
	admin   *client.Client
	reader  *client.Client
	vendors []*client.Client
}

const (
	benchAdmin  = "bench-admin-token-0123456789"
	benchReader = "bench-reader-token-0123456789"
)

func vendorToken(i int) string { return fmt.Sprintf("bench-vendor-%d-token-0123456789", i) }

func newRig(path string, vendors int, cfg server.Config) (*rig, error) {
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return nil, err
	}
	tokens := server.NewTokens()
	tokens.Add(benchAdmin, server.Identity{Name: "admin", Role: server.RoleAdmin})
	tokens.Add(benchReader, server.Identity{Name: "reader", Role: server.RoleReader})
	for i := range vendors {
		tokens.Add(vendorToken(i), server.Identity{Name: fmt.Sprintf("vendor-%d", i), Role: server.RoleVendor})
	}
	cfg.Store, cfg.Tokens, cfg.Logger = db, tokens, quietLogger()
	srv, err := server.New(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		db.Close()
		return nil, err
	}
	r := &rig{db: db, srv: srv, grpc: srv.GRPCServer(), addr: lis.Addr().String()}
	go r.grpc.Serve(lis)
	srv.SetServing(true)
	dial := func(token string) *client.Client {
		c, _ := client.New(r.addr, client.WithToken(token), client.WithTimeout(30*time.Second))
		return c
	}
	r.admin, r.reader = dial(benchAdmin), dial(benchReader)
	for i := range vendors {
		r.vendors = append(r.vendors, dial(vendorToken(i)))
	}
	return r, nil
}

func (r *rig) close() {
	r.srv.Close()
	r.grpc.Stop()
	for _, c := range append([]*client.Client{r.admin, r.reader}, r.vendors...) {
		c.Close()
	}
	r.db.Close()
}

// loadChips puts the bundled catalog through the real API.
func (r *rig) loadChips() error {
	for _, spec := range catalog.Chips() {
		if _, err := r.admin.PutChipSpec(bgctx(), protoconv.ChipToProto(spec)); err != nil {
			return err
		}
	}
	return nil
}

func dbPath(dir, name string) string { return filepath.Join(dir, name+".db") }

// records are the deterministic synthetic shipments every scenario uses:
// three general servers to one AI server, spread over provinces, years and
// quarters, built from catalog chips.
func records(prefix string, n int) []*pb.ShipmentRecord {
	provinces := estimator.Provinces()
	out := make([]*pb.ShipmentRecord, n)
	for i := range out {
		p := provinces[i%len(provinces)]
		r := &pb.ShipmentRecord{
			RecordId: fmt.Sprintf("%s-%d", prefix, i), Province: p.ISO,
			Period:      &pb.Period{Year: int32(2019 + i%6), Quarter: int32(i % 5)},
			ServerClass: pb.ServerClass_SERVER_CLASS_GENERAL_SERVER, Units: int64(1 + i%40),
			Components: []*pb.Component{{Count: 2, Chip: &pb.Component_ChipId{ChipId: "intel-xeon-platinum-8480p"}}},
		}
		if i%4 == 3 {
			r.ServerClass, r.Units = pb.ServerClass_SERVER_CLASS_AI_SERVER, int64(1+i%8)
			r.Components = append(r.Components, &pb.Component{Count: 8, Chip: &pb.Component_ChipId{ChipId: "nvidia-h100-sxm5"}})
		}
		out[i] = r
	}
	return out
}

func dialReader(addr string) (*client.Client, error) {
	return client.New(addr, client.WithToken(benchReader))
}

func catalogChip(id string) (estimator.ChipSpec, bool) { return catalog.Chip(id) }
