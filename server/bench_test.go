package server_test

import (
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

const benchBatch = 1000

func benchRecords(batch int) []*pb.ShipmentRecord {
	recs := make([]*pb.ShipmentRecord, benchBatch)
	provinces := []string{"CN-BJ", "CN-GD", "CN-ZJ", "CN-JS", "CN-SH", "CN-SD"}
	for i := range recs {
		if i%4 == 0 {
			recs[i] = aiServer(fmt.Sprintf("b%d-%d", batch, i), provinces[i%len(provinces)], 2019+i%6, 1+i%8)
		} else {
			recs[i] = general(fmt.Sprintf("b%d-%d", batch, i), provinces[i%len(provinces)], 2019+i%6, i%5, 1+i%50)
		}
	}
	return recs
}

// BenchmarkIngestStream is records/s through the real bidi stream into a
// fresh bbolt file, one fsynced commit per 1,000-record batch. Compare with
// BenchmarkIngestRawBolt in the same run: `go test -bench Ingest ./server`.
func BenchmarkIngestStream(b *testing.B) {
	e := newEnvBatch(b, benchBatch)
	e.putChips()
	st, err := e.vendorA.Ingest.IngestShipments(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	batches := make([][]*pb.ShipmentRecord, b.N)
	for i := range batches {
		batches[i] = benchRecords(i)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := st.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: batches[i]}); err != nil {
			b.Fatal(err)
		}
		resp, err := st.Recv()
		if err != nil || resp.GetError() != nil {
			b.Fatalf("ack: %v %v", err, resp.GetError())
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkIngestRawBolt is the baseline: bbolt alone storing the same
// records, encoded, in the same 1,000-record fsynced transactions.
func BenchmarkIngestRawBolt(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	encoded := make([][][]byte, b.N)
	for i := range encoded {
		for _, r := range benchRecords(i) {
			v, _ := proto.Marshal(r)
			encoded[i] = append(encoded[i], v)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("records"))
			if err != nil {
				return err
			}
			for j, v := range encoded[i] {
				if err := bk.Put(fmt.Appendf(nil, "b%d-%d", i, j), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkGetProvinceCompute is the cost of one query over loopback against
// a province with six years of cells.
func BenchmarkGetProvinceCompute(b *testing.B) {
	e := newEnvBatch(b, benchBatch)
	e.putChips()
	for i := range 5 {
		st, _ := e.vendorA.Ingest.IngestShipments(b.Context())
		st.Send(&pb.IngestShipmentsRequest{BatchId: 1, Records: benchRecords(i)})
		st.Recv()
		st.CloseSend()
	}
	b.ResetTimer()
	for range b.N {
		if _, err := e.reader.ProvinceCompute(b.Context(), "CN-GD", 2024, 0); err != nil {
			b.Fatal(err)
		}
	}
}
