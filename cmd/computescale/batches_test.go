package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/store"
)

// The callers of the crash and backup tests. Tokens must be 16+ characters.
const (
	testVendor      = "crash-vendor"
	testVendorToken = "vendor-token-0123456789"
	testAdminToken  = "admin-token-0123456789"
	testBatchSize   = 25
)

// The catalog chips the test records use; PutChipSpec loads them first.
var testChips = []string{"intel-xeon-platinum-8480p", "nvidia-h100-sxm5"}

// testBatch is one ingest batch whose records have ids "<name>-r00".."-r24",
// so that a store can be asked for each of them.
type testBatch struct {
	name   string
	recs   []*pb.ShipmentRecord
	acked  bool
	rev    uint64 // the revision its ack reported
	err    error  // set if the server rejected it
	landed bool   // found whole on disk without an ack (counted once)
}

// makeBatches returns n batches of testBatchSize random valid records.
func makeBatches(rng *rand.Rand, prefix string, n int) []*testBatch {
	out := make([]*testBatch, n)
	for i := range out {
		b := &testBatch{name: fmt.Sprintf("%s-b%03d", prefix, i)}
		for j := range testBatchSize {
			b.recs = append(b.recs, testRecord(rng, fmt.Sprintf("%s-r%02d", b.name, j)))
		}
		out[i] = b
	}
	return out
}

var testProvinces = []string{"110000", "CN-GD", "Shanghai", "贵州", "CN-SC", "Zhejiang"}

func testRecord(rng *rand.Rand, id string) *pb.ShipmentRecord {
	r := &pb.ShipmentRecord{
		RecordId: id, Province: testProvinces[rng.IntN(len(testProvinces))],
		Period: &pb.Period{Year: int32(2019 + rng.IntN(6)), Quarter: int32(rng.IntN(5))},
		Units:  int64(1 + rng.IntN(500)),
	}
	cpu := &pb.Component{Count: 2, Chip: &pb.Component_ChipId{ChipId: testChips[0]}}
	if rng.IntN(3) == 0 {
		r.ServerClass = pb.ServerClass_SERVER_CLASS_AI_SERVER
		gpu := &pb.Component{Count: 8, Chip: &pb.Component_ChipId{ChipId: testChips[1]}}
		r.Components = []*pb.Component{gpu, cpu}
	} else {
		r.ServerClass = pb.ServerClass_SERVER_CLASS_GENERAL_SERVER
		r.Components = []*pb.Component{cpu}
	}
	return r
}

func unacked(bs []*testBatch) []*testBatch {
	var out []*testBatch
	for _, b := range bs {
		if !b.acked {
			out = append(out, b)
		}
	}
	return out
}

// ingestBatches sends bs in one IngestShipments call with the client
// library, marking each batch as its ack arrives and calling onAck after.
func ingestBatches(ctx context.Context, c *client.Client, bs []*testBatch, onAck func()) error {
	var recs []*pb.ShipmentRecord
	for _, b := range bs {
		recs = append(recs, b.recs...)
	}
	_, err := c.IngestShipments(ctx, recs, client.IngestOptions{
		BatchSize: testBatchSize,
		OnAck: func(r client.BatchResult) {
			b := bs[r.Index]
			if r.Err != nil {
				b.err = r.Err
			} else {
				b.acked, b.rev = true, r.Revision
			}
			if onAck != nil {
				onAck()
			}
		},
	})
	return err
}

// putTestChips loads the catalog specs the test records refer to.
func putTestChips(ctx context.Context, addr string) error {
	admin, err := client.New(addr, client.WithToken(testAdminToken))
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, id := range testChips {
		spec, ok := catalog.Chip(id)
		if !ok {
			return fmt.Errorf("catalog has no chip %q", id)
		}
		if _, err := admin.PutChipSpec(ctx, protoconv.ChipToProto(spec)); err != nil {
			return fmt.Errorf("put chip %s: %w", id, err)
		}
	}
	return nil
}

// presentRecords counts the records of b that db holds.
func presentRecords(db *store.DB, b *testBatch) (int, error) {
	n := 0
	for _, r := range b.recs {
		_, err := db.Record(testVendor, r.GetRecordId())
		switch estimator.ErrorCode(err) {
		case "":
			n++
		case estimator.ENotFound:
		default:
			return n, fmt.Errorf("read record %s: %w", r.GetRecordId(), err)
		}
	}
	return n, nil
}

// checkVerify runs the store's own consistency check on an opened file.
func checkVerify(t *testing.T, what string, db *store.DB) store.VerifyReport {
	t.Helper()
	rep, err := db.Verify()
	if err != nil {
		t.Fatalf("%s: verify: %v", what, err)
	}
	if len(rep.Mismatches) > 0 || len(rep.CheckErrors) > 0 {
		t.Errorf("%s: verify found %d mismatches, %d page-check errors:\n%s", what,
			len(rep.Mismatches), len(rep.CheckErrors), strings.Join(append(rep.Mismatches, rep.CheckErrors...), "\n"))
	}
	return rep
}

func writeTokenFile(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "tokens.txt")
	body := fmt.Sprintf("admin crash-admin %s\nvendor %s %s\n", testAdminToken, testVendor, testVendorToken)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
