package server_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

// Helpers of the watch tests: raw streams recorded in memory, a concurrent
// ingest load, and the expected sequence rebuilt from the change log.

// newWatchEnv is newEnv with a watcher buffer of buffer responses.
func newWatchEnv(t testing.TB, buffer int) *env {
	return newEnvWith(t, func(e *env) { e.watchBuffer = buffer })
}

func watchStub(c *client.Client) pb.WatchServiceClient { return pb.NewWatchServiceClient(c.Conn()) }

// waitFor bounds every wait of these tests; nothing is timed, only bounded.
const waitFor = 20 * time.Second

// recorder keeps a raw stream's responses until it has seen a response at or
// past target (set once the load is done; progress notifications carry an
// idle stream there).
type recorder struct {
	name  string
	req   *pb.WatchRequest
	after uint64 // the stream delivers revisions above this one
	resps []*pb.WatchResponse
	err   error
	done  chan struct{}
}

func (e *env) record(c *client.Client, name string, req *pb.WatchRequest, target *atomic.Uint64) *recorder {
	e.t.Helper()
	req.ProgressNotify = true
	st, err := watchStub(c).Watch(ctx(e.t), req)
	if err != nil {
		e.t.Fatalf("%s: watch: %v", name, err)
	}
	r := &recorder{name: name, req: req, after: startAfter(e.t, st), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			resp, err := st.Recv()
			if err != nil {
				r.err = err
				return
			}
			r.resps = append(r.resps, resp)
			if t := target.Load(); t > 0 && resp.GetRevision() >= t && !resp.GetFragment() {
				return
			}
		}
	}()
	return r
}

// wait returns once the recorder stopped, failing the test if it does not
// within waitFor or if its stream failed.
func (r *recorder) wait(t testing.TB) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(waitFor):
		t.Fatalf("%s: not done after %v (%d responses)", r.name, waitFor, len(r.resps))
	}
	if r.err != nil {
		t.Fatalf("%s: stream ended: %v", r.name, r.err)
	}
}

// startAfter reads the revision a stream starts after from its header.
func startAfter(t testing.TB, st grpc.ClientStream) uint64 {
	t.Helper()
	md, err := st.Header()
	if err != nil {
		t.Fatalf("watch header: %v", err)
	}
	v := md.Get(server.StartAfterHeader)
	if len(v) != 1 {
		t.Fatalf("watch header lacks %s: %v", server.StartAfterHeader, md)
	}
	after, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return after
}

// expected is the event sequence a watch of req starting after after should
// deliver, read from the change log now.
func (e *env) expected(req *pb.WatchRequest, after uint64) []*pb.Event {
	e.t.Helper()
	changes, err := e.st.Changes(after+1, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	want, err := server.WatchExpected(changes, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return want
}

// checkStream checks a raw stream's responses, read after revision after:
// positions never go back, a fragment holds one revision, no event is at or
// below a revision already completed (no duplicate), and the events are want
// (no gap, nothing extra). It returns the events.
func checkStream(t testing.TB, name string, after uint64, resps []*pb.WatchResponse, want []*pb.Event) {
	t.Helper()
	complete := after
	var got []*pb.Event
	for i, r := range resps {
		if r.GetProgressNotify() {
			if len(r.GetEvents()) > 0 || r.GetRevision() < complete {
				t.Fatalf("%s: response %d: progress at %d with %d events after %d was complete", name, i, r.GetRevision(), len(r.GetEvents()), complete)
			}
			complete = r.GetRevision()
			continue
		}
		if len(r.GetEvents()) == 0 {
			t.Fatalf("%s: response %d at %d has no events", name, i, r.GetRevision())
		}
		prev := complete
		for _, ev := range r.GetEvents() {
			rev := ev.GetRevision()
			if rev <= complete || rev < prev || rev > r.GetRevision() || (r.GetFragment() && rev != r.GetRevision()) {
				t.Fatalf("%s: response %d (revision %d, fragment %v) holds an event of %d after %d was complete",
					name, i, r.GetRevision(), r.GetFragment(), rev, complete)
			}
			prev = rev
		}
		if !r.GetFragment() {
			complete = r.GetRevision()
		}
		got = append(got, r.GetEvents()...)
	}
	sameEvents(t, name, got, want)
}

// sameEvents compares event sequences, naming the first difference.
func sameEvents(t testing.TB, name string, got, want []*pb.Event) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: event %d differs:\n got %v\nwant %v", name, i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", name, len(got), len(want))
	}
}

var loadProvinces = []string{"CN-GD", "CN-BJ", "CN-SH", "CN-ZJ", "CN-JS", "CN-SC", "CN-HB", "CN-GZ", "CN-NM"}

// loadRecords are n records of batch b of a caller, spread over provinces,
// years and classes so that filters select different subsets.
func loadRecords(tag string, b, n int) []*pb.ShipmentRecord {
	recs := make([]*pb.ShipmentRecord, n)
	for i := range recs {
		id, prov, year := fmt.Sprintf("%s-%d-%d", tag, b, i), loadProvinces[(b*7+i)%len(loadProvinces)], 2021+(b+i)%4
		if i%3 == 0 {
			recs[i] = aiServer(id, prov, year, 1+i%4)
		} else {
			recs[i] = general(id, prov, year, i%5, 1+i%9)
		}
	}
	return recs
}

// loadObservations are index inputs for every load province in 2023-2024,
// scaled by k so that a second batch (replace) changes them.
func loadObservations(k float64) []*pb.Observation {
	var out []*pb.Observation
	for i, p := range loadProvinces {
		for _, y := range []int32{2023, 2024} {
			out = append(out,
				&pb.Observation{Province: p, Year: y, Indicator: "industry.devices", Value: k * float64(10+i), Unit: "10^4 units", Source: "test"},
				&pb.Observation{Province: p, Year: y, Indicator: "tech.patent_grants", Value: k * float64(100-i), Unit: "count", Source: "test"})
		}
	}
	return out
}

// ingestLoad has vendor A, vendor B and the admin each send batches of
// perBatch records at once, and the statistician one observations batch among them.
// It returns the first error.
func (e *env) ingestLoad(tag string, batches, perBatch int, obsScale float64) error {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i, c := range []*client.Client{e.vendorA, e.vendorB, e.admin} {
		wg.Go(func() {
			var recs []*pb.ShipmentRecord
			for b := range batches {
				recs = append(recs, loadRecords(fmt.Sprintf("%s-%d", tag, i), b, perBatch)...)
			}
			sum, err := c.IngestShipments(ctx(e.t), recs, client.IngestOptions{BatchSize: perBatch, Window: 2})
			if err == nil && len(sum.Rejected) > 0 {
				err = sum.Rejected[0].Err
			}
			errs <- err
		})
	}
	if obsScale > 0 {
		wg.Go(func() { errs <- e.putObservations(e.stat, loadObservations(obsScale)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// putObservations sends obs as one replacing batch with the client helper,
// which resends it after Unavailable (a server restart).
func (e *env) putObservations(c *client.Client, obs []*pb.Observation) error {
	sum, err := c.PutObservations(ctx(e.t), obs, client.IngestOptions{BatchSize: len(obs), Replace: true})
	if err == nil && len(sum.Rejected) > 0 {
		err = sum.Rejected[0].Err
	}
	return err
}

// revision is the store's current revision.
func (e *env) revision() uint64 {
	return e.st.Revision()
}

// errorInfo returns the ErrorInfo detail of err's status, or nil.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// watchAll runs the client helper from start, collecting every event until
// a response reaches target; it returns the events and the helper's error.
func watchAll(c context.Context, cl *client.Client, req *pb.WatchRequest, target *atomic.Uint64, opts ...client.WatchOption) ([]*pb.Event, error) {
	var got []*pb.Event
	req.ProgressNotify = true
	err := cl.Watch(c, req, func(r *pb.WatchResponse) error {
		got = append(got, r.GetEvents()...)
		if t := target.Load(); t > 0 && r.GetRevision() >= t && !r.GetFragment() {
			return client.ErrStopWatch
		}
		return nil
	}, opts...)
	return got, err
}
