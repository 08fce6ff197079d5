package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
)

// ExampleClient_Watch follows compute changes from the first revision: a
// vendor reports a supercomputer, and the watcher hears the province cell it
// changed. On a *client.CompactedError the caller would re-read the totals
// and watch again from CompactedError.Oldest.
func ExampleClient_Watch() {
	addr, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	vendor, _ := client.New(addr, client.WithToken("vendor-example-token-0123"))
	defer vendor.Close()
	tianhe := &pb.ShipmentRecord{RecordId: "tianhe-2a", Province: "广东", Period: &pb.Period{Year: 2024},
		ServerClass: pb.ServerClass_SERVER_CLASS_SUPERCOMPUTER, Units: 1, RpeakFp64Flops: 0.1e18}
	if _, err := vendor.IngestShipments(ctx, []*pb.ShipmentRecord{tianhe}, client.IngestOptions{}); err != nil {
		log.Fatal(err)
	}

	reader, _ := client.New(addr, client.WithToken("reader-example-token-0123"))
	defer reader.Close()
	req := &pb.WatchRequest{StartRevision: 1, Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}}
	err := reader.Watch(ctx, req, func(r *pb.WatchResponse) error {
		for _, e := range r.GetEvents() {
			c := e.GetCompute()
			fmt.Printf("revision %d: %s %d %s %.1f EFlops FP64, %d system\n", e.GetRevision(),
				c.GetProvince().GetName(), c.GetPeriod().GetYear(), c.GetSeries(), c.GetEflops(), c.GetUnits())
		}
		return client.ErrStopWatch // one response is enough here
	})
	var compacted *client.CompactedError
	if errors.As(err, &compacted) {
		fmt.Println("re-read the totals, then watch from", compacted.Oldest)
	} else if err != nil {
		log.Fatal(err)
	}
	// Output:
	// revision 1: Guangdong 2024 COMPUTE_SERIES_SUPER_COMMISSIONED 0.1 EFlops FP64, 1 system
}

// exampleServer runs a real server on 127.0.0.1 with a temporary store.
func exampleServer() (addr string, stop func()) {
	dir, err := os.MkdirTemp("", "computescale-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "example.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	tokens := server.NewTokens()
	tokens.Add("vendor-example-token-0123", server.Identity{Name: "vendor", Role: server.RoleVendor})
	tokens.Add("reader-example-token-0123", server.Identity{Name: "reader", Role: server.RoleReader})
	srv, err := server.New(server.Config{Store: db, Tokens: tokens})
	if err != nil {
		log.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	g := srv.GRPCServer()
	go g.Serve(lis)
	return lis.Addr().String(), func() {
		srv.Close()
		g.Stop()
		db.Close()
		os.RemoveAll(dir)
	}
}
