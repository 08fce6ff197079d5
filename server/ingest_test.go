package server_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/computescale/computescale/client"
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

func TestIngestThenTotals(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	ack := e.ingest(e.vendorA, false,
		general("g1", "Guangdong", 2024, 0, 1000), // 1000 × 14.336 TFLOPS = 0.014336 EFlops FP32
		aiServer("a1", "CN-GD", 2024, 100),        // 100 × 7.912 PFLOPS = 0.7912 EFlops FP16
		super("s1", "广东", 2018, 2.746e18),         // El Capitan-sized Rpeak, FP64
		general("g2", "110000", 2019, 0, 500),
	)
	if ack.Err != nil || ack.Created != 4 || ack.Revision == 0 {
		t.Fatalf("ack = %+v", ack)
	}
	gd, err := e.reader.ProvinceCompute(ctx(t), "guangdong", 2024, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]float64{
		"basic":      {gd.GetBasicFp32Eflops(), 0.014336},
		"ai fp16":    {gd.GetAiFp16Eflops(), 0.7912},
		"ai fp32eq":  {gd.GetAiFp32EquivalentEflops(), 0.3956},
		"super":      {gd.GetSuperFp64Eflops(), 2.746},
		"super eq":   {gd.GetSuperFp32EquivalentEflops(), 5.492},
		"total":      {gd.GetTotalFp32EquivalentEflops(), 0.014336 + 0.3956 + 5.492},
		"host cpus":  {gd.GetAiHostCpuFp32Eflops(), 100 * 14.336e12 / 1e18},
		"gen units":  {gd.GetGeneralServerUnits(), 1000},
		"ai units":   {gd.GetAiServerUnits(), 100},
		"year 2024":  {gd.GetYears()[5].GetBasicFp32Eflops(), 0.014336},
		"year count": {float64(len(gd.GetYears())), 6},
	} {
		if !near(c[0], c[1]) {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	if gd.GetProvince().GetCode() != "440000" || gd.GetProvince().GetIsoCode() != "CN-GD" || gd.GetProvince().GetNameZh() != "广东" {
		t.Errorf("province = %v", gd.GetProvince())
	}
	if gd.GetRecordCount() != 3 || gd.GetSupercomputerSystems() != 1 || gd.GetRevision() != ack.Revision {
		t.Errorf("records %d systems %d revision %d (ack %d)", gd.GetRecordCount(), gd.GetSupercomputerSystems(), gd.GetRevision(), ack.Revision)
	}
	// The 2019 Beijing record is in the 2024 window and out of 2025's.
	for _, c := range []struct {
		year int
		want float64
	}{{2024, 0.007168}, {2025, 0}} {
		bj, err := e.reader.ProvinceCompute(ctx(t), "CN-BJ", c.year, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !near(bj.GetBasicFp32Eflops(), c.want) {
			t.Errorf("Beijing %d basic = %v, want %v", c.year, bj.GetBasicFp32Eflops(), c.want)
		}
	}
	nat, err := e.reader.NationalCompute(ctx(t), 2024, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !near(nat.GetBasicFp32Eflops(), 0.014336+0.007168) || nat.GetProvince() != nil {
		t.Errorf("national basic = %v province %v", nat.GetBasicFp32Eflops(), nat.GetProvince())
	}
}

func TestResendReplaceRetract(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	before, _ := e.reader.NationalCompute(ctx(t), 2024, 0)
	recs := []*pb.ShipmentRecord{general("g1", "CN-ZJ", 2023, 2, 10), aiServer("a1", "CN-ZJ", 2022, 3)}
	first := e.ingest(e.vendorA, false, recs...)
	after, _ := e.reader.NationalCompute(ctx(t), 2024, 0)

	t.Run("IdenticalResendIsNoop", func(t *testing.T) {
		again := e.ingest(e.vendorA, false, recs...)
		if again.Err != nil || again.Unchanged != 2 || again.Created != 0 || again.Revision != first.Revision {
			t.Fatalf("resend ack = %+v, first %+v", again, first)
		}
		now, _ := e.reader.NationalCompute(ctx(t), 2024, 0)
		if diff := cmp.Diff(after, now, protocmp.Transform()); diff != "" {
			t.Errorf("totals changed on identical resend (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrAlreadyExists", func(t *testing.T) {
		changed := general("g1", "CN-ZJ", 2023, 2, 11)
		ack := e.ingest(e.vendorA, false, changed)
		if status.Code(ack.Err) != codes.AlreadyExists {
			t.Fatalf("changed resend: %v, want AlreadyExists", ack.Err)
		}
		wantViolation(t, ack.Err, "records[0].record_id")
		now, _ := e.reader.NationalCompute(ctx(t), 2024, 0)
		if diff := cmp.Diff(after, now, protocmp.Transform()); diff != "" {
			t.Errorf("totals changed by a rejected batch:\n%s", diff)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		ack := e.ingest(e.vendorA, true, general("g1", "CN-ZJ", 2023, 2, 20))
		if ack.Err != nil || ack.Replaced != 1 {
			t.Fatalf("replace ack = %+v", ack)
		}
		zj, _ := e.reader.ProvinceCompute(ctx(t), "CN-ZJ", 2024, 0)
		if !near(zj.GetBasicFp32Eflops(), 20*14.336e12/1e18) {
			t.Errorf("basic after replace = %v", zj.GetBasicFp32Eflops())
		}
	})
	t.Run("ErrOtherVendorCannotRetract", func(t *testing.T) {
		_, err := e.vendorB.Retract(ctx(t), []string{"g1"}, false)
		if status.Code(err) != codes.NotFound {
			t.Fatalf("vendor B retract: %v, want NotFound", err)
		}
		zj, _ := e.reader.ProvinceCompute(ctx(t), "CN-ZJ", 2024, 0)
		if zj.GetRecordCount() != 2 {
			t.Errorf("vendor A's records: %d, want 2", zj.GetRecordCount())
		}
	})
	t.Run("RetractRestoresExactly", func(t *testing.T) {
		res, err := e.vendorA.Retract(ctx(t), []string{"g1", "a1"}, false)
		if err != nil || res.GetRetracted() != 2 {
			t.Fatalf("retract: %v %v", res, err)
		}
		now, _ := e.reader.NationalCompute(ctx(t), 2024, 0)
		// Everything but the revision is as before the ingest, bit for bit.
		if diff := cmp.Diff(before, now, protocmp.Transform(), protocmp.IgnoreFields(&pb.ComputeTotals{}, "revision")); diff != "" {
			t.Errorf("retract did not restore totals (-before +now):\n%s", diff)
		}
	})
	t.Run("RetractMissing", func(t *testing.T) {
		res, err := e.vendorA.Retract(ctx(t), []string{"g1"}, true)
		if err != nil || res.GetRetracted() != 0 || len(res.GetMissingRecordIds()) != 1 {
			t.Fatalf("retract allow_missing: %v %v", res, err)
		}
	})
}

func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
			t.Errorf("violations %v do not name %s", br.GetFieldViolations(), field)
			return
		}
	}
	t.Errorf("%v carries no BadRequest naming %s", err, field)
}

func TestBadInputRejectsBatch(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	e.ingest(e.vendorA, false, general("keep", "CN-SH", 2024, 0, 7))
	baseline, _ := e.reader.NationalCompute(ctx(t), 2025, 2)
	with := func(f func(r *pb.ShipmentRecord)) *pb.ShipmentRecord {
		r := general("new", "CN-JS", 2024, 1, 5)
		f(r)
		return r
	}
	inline := func(rate *pb.PrecisionRate) func(r *pb.ShipmentRecord) {
		return func(r *pb.ShipmentRecord) {
			spec := xeon8480()
			spec.Id, spec.Rates = "", []*pb.PrecisionRate{rate}
			r.Components = []*pb.Component{{Count: 1, Chip: &pb.Component_InlineSpec{InlineSpec: spec}}}
		}
	}
	peak := func(v float64) *pb.PrecisionRate {
		return &pb.PrecisionRate{Precision: pb.Precision_PRECISION_FP32, Rate: &pb.PrecisionRate_PeakFlops{PeakFlops: v}}
	}
	many := make([]*pb.ShipmentRecord, testMaxBatch+1)
	for i := range many {
		many[i] = general("m"+string(rune('a'+i%26))+string(rune('a'+i/26)), "CN-JS", 2024, 0, 1)
	}
	for _, c := range []struct {
		name  string
		recs  []*pb.ShipmentRecord
		field string
	}{
		{"ErrUnknownProvince", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Province = "Hong Kong" })}, "records[0].province"},
		{"ErrUnknownChip", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Components[0].Chip = &pb.Component_ChipId{ChipId: "no-such-chip"} })}, "records[0].components[0].chip_id"},
		{"ErrYearTooEarly", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Period.Year = 1989 })}, "records[0].period.year"},
		{"ErrYearTooLate", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Period.Year = 2027 })}, "records[0].period.year"},
		{"ErrQuarter", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Period.Quarter = 5 })}, "records[0].period.quarter"},
		{"ErrZeroUnits", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Units = 0 })}, "records[0].units"},
		{"ErrNegativeUnits", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Units = -3 })}, "records[0].units"},
		{"ErrNaNSpec", []*pb.ShipmentRecord{with(inline(peak(math.NaN())))}, "records[0].components[0].inline_spec.rates[0].rate"},
		{"ErrInfSpec", []*pb.ShipmentRecord{with(inline(peak(math.Inf(1))))}, "records[0].components[0].inline_spec.rates[0].rate"},
		{"ErrNegativeSpec", []*pb.ShipmentRecord{with(inline(peak(-1)))}, "records[0].components[0].inline_spec.rates[0].rate"},
		{"ErrZeroCount", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.Components[0].Count = 0 })}, "records[0].components[0].count"},
		{"ErrOverflow", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) {
			inline(peak(1e18))(r)
			r.Components[0].Count, r.Units = 1_000_000, 1_000_000_000
		})}, "records[0].units"},
		{"ErrMissingRecordID", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.RecordId = "" })}, "records[0].record_id"},
		{"ErrDuplicateInBatch", []*pb.ShipmentRecord{general("d", "CN-JS", 2024, 0, 1), general("d", "CN-JS", 2024, 0, 2)}, "records[1].record_id"},
		{"ErrNoClass", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.ServerClass = 0 })}, "records[0].server_class"},
		{"ErrAIServerWithoutAccelerator", []*pb.ShipmentRecord{with(func(r *pb.ShipmentRecord) { r.ServerClass = pb.ServerClass_SERVER_CLASS_AI_SERVER })}, "records[0].components"},
		{"ErrBatchTooLarge", many, "records"},
		{"ErrSecondRecordBadFirstGood", []*pb.ShipmentRecord{general("ok", "CN-JS", 2024, 0, 1), with(func(r *pb.ShipmentRecord) { r.Province = "" })}, "records[1].province"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ack := e.ingest(e.vendorA, false, c.recs...)
			if status.Code(ack.Err) != codes.InvalidArgument {
				t.Fatalf("ack err = %v, want InvalidArgument", ack.Err)
			}
			wantViolation(t, ack.Err, c.field)
			now, err := e.reader.NationalCompute(ctx(t), 2025, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(baseline, now) {
				t.Errorf("a rejected batch changed the totals: %v -> %v", baseline, now)
			}
		})
	}
}

func TestRejectedBatchKeepsStreamOpen(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	recs := []*pb.ShipmentRecord{
		general("a", "CN-SD", 2024, 0, 1), general("b", "Atlantis", 2024, 0, 1), // batch 1: rejected
		general("c", "CN-SD", 2024, 0, 1), general("d", "CN-SD", 2024, 0, 1), // batch 2: stored
	}
	sum, err := e.vendorA.IngestShipments(ctx(t), recs, clientOpts(2))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Batches != 2 || len(sum.Rejected) != 1 || sum.Rejected[0].Index != 0 || sum.Created != 2 {
		t.Fatalf("summary = %+v", sum)
	}
	sd, _ := e.reader.ProvinceCompute(ctx(t), "CN-SD", 2024, 0)
	if sd.GetRecordCount() != 2 {
		t.Errorf("records stored = %d, want 2", sd.GetRecordCount())
	}
}

// TestRejectedBatchNamesEveryViolation: a batch is answered with every
// violation of every record, whichever check finds it. Field checks happen
// before the store is asked and catalog checks in the store's commit; a
// batch rejected by the first used never to reach the second, so an unknown
// chip showed only once the vendor had fixed everything else.
func TestRejectedBatchNamesEveryViolation(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	unknownChip := func(r *pb.ShipmentRecord) *pb.ShipmentRecord {
		r.Components[0].Chip = &pb.Component_ChipId{ChipId: "no-such-chip"}
		return r
	}
	noAccelerator := general("r2", "CN-JS", 2024, 0, 1)
	noAccelerator.ServerClass = pb.ServerClass_SERVER_CLASS_AI_SERVER
	badYearAndChip := unknownChip(general("r3", "CN-JS", 1980, 0, 1))
	ack := e.ingest(e.vendorA, false,
		general("r0", "Atlantis", 2024, 0, 1),
		unknownChip(general("r1", "CN-JS", 2024, 0, 1)),
		noAccelerator,
		badYearAndChip,
		general("r4", "CN-JS", 2024, 0, 1), // fine
	)
	if status.Code(ack.Err) != codes.InvalidArgument {
		t.Fatalf("ack err = %v, want InvalidArgument", ack.Err)
	}
	if msg := status.Convert(ack.Err).Message(); msg != "batch rejected: invalid records" {
		t.Errorf("message %q, want the one wording of a rejected batch", msg)
	}
	var fields []string
	for _, d := range status.Convert(ack.Err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	want := []string{"records[0].province", "records[1].components[0].chip_id", "records[2].components",
		"records[3].period.year", "records[3].components[0].chip_id"}
	if !slices.Equal(fields, want) {
		t.Errorf("violations %v, want %v in record order", fields, want)
	}

	// Caught by the store alone, the same wording.
	ack = e.ingest(e.vendorA, false, unknownChip(general("r5", "CN-JS", 2024, 0, 1)))
	if msg := status.Convert(ack.Err).Message(); msg != "batch rejected: invalid records" {
		t.Errorf("the store's rejection says %q, want the same wording", msg)
	}
	wantViolation(t, ack.Err, "records[0].components[0].chip_id")
}

// TestIngestPipelined sends every batch of a stream before reading any ack,
// with a rejected batch among them and each batch replacing the previous
// one's record, and checks the acks come back one per batch, in order, with
// rising revisions, and that the batches applied in the order sent.
func TestIngestPipelined(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	st, err := e.vendorA.Ingest.IngestShipments(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	const batches, bad = 30, 17
	for i := 1; i <= batches; i++ {
		recs := []*pb.ShipmentRecord{general("r", "CN-GD", 2024, 1, i), general(fmt.Sprintf("x%d", i), "CN-BJ", 2024, 2, 1)}
		if i == bad {
			recs[1].Province = "CN-XX"
		}
		if err := st.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i), Records: recs, Replace: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := 1; i <= batches; i++ {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
		if resp.GetBatchId() != uint64(i) {
			t.Fatalf("ack %d answers batch %d", i, resp.GetBatchId())
		}
		if i == bad {
			if codes.Code(resp.GetError().GetCode()) != codes.InvalidArgument {
				t.Errorf("batch %d: error %v, want InvalidArgument", i, resp.GetError())
			}
			continue
		}
		if resp.GetError() != nil || resp.GetRevision() <= last {
			t.Fatalf("batch %d: revision %d after %d, error %v", i, resp.GetRevision(), last, resp.GetError())
		}
		last = resp.GetRevision()
	}
	if _, err := st.Recv(); err == nil {
		t.Fatal("stream did not end after the last ack")
	}
	rec, err := e.db.Record("vendor-a", "r")
	if err != nil || rec.Units != batches {
		t.Errorf("record r = %+v, %v; want the last batch's %d units", rec, err, batches)
	}
	if _, err := e.db.Record("vendor-a", fmt.Sprintf("x%d", bad)); err == nil {
		t.Error("the rejected batch's record is stored")
	}
	if rep, err := e.db.Verify(); err != nil || len(rep.Mismatches) > 0 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestIngestResumesAcrossRestart kills the server (hard stop, same file, same
// port) while a vendor is mid-stream: the client reopens the stream, resends
// what was not acknowledged, and every record ends up stored exactly once.
func TestIngestResumesAcrossRestart(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	var recs []*pb.ShipmentRecord
	for i := range 400 {
		recs = append(recs, general(fmt.Sprintf("r%03d", i), "CN-AH", 2020+i%5, 0, 1+i%7))
	}
	restarted := false
	sum, err := e.vendorA.IngestShipments(ctx(t), recs, client.IngestOptions{
		BatchSize: 10, Window: 4,
		OnAck: func(b client.BatchResult) {
			if b.Index == 5 && !restarted {
				restarted = true
				e.restart()
			}
		},
	})
	if err != nil {
		t.Fatalf("ingest across restart: %v", err)
	}
	if !restarted || sum.Batches != 40 || len(sum.Rejected) != 0 {
		t.Fatalf("restarted %v, summary %+v", restarted, sum)
	}
	if sum.Created+sum.Unchanged < 400 || sum.Created > 400 {
		t.Errorf("created %d unchanged %d", sum.Created, sum.Unchanged)
	}
	ah, err := e.reader.ProvinceCompute(ctx(t), "CN-AH", 2024, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantUnits := 0
	for i := range 400 {
		wantUnits += 1 + i%7
	}
	if ah.GetRecordCount() != 400 || ah.GetGeneralServerUnits() != float64(wantUnits) {
		t.Errorf("records %d units %v, want 400 and %d", ah.GetRecordCount(), ah.GetGeneralServerUnits(), wantUnits)
	}
}
