package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/mem"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// hub publishes committed revisions to live watchers. It consumes the
// store's Subscribe stream, which the commit path feeds in memory without
// waiting for anyone, and converts each revision into events once. Every
// watcher has a bounded buffer; one that is full is cut off rather than
// waited for, so a stalled subscriber can neither slow ingest nor other
// subscribers, and memory stays bounded. What the hub keeps is per watcher:
// its filter, the responses encoded once per distinct filter, and its queue.
//
// Replay is the watcher's own work (watch.go): it reads the log up to the
// hub's published revision without holding the hub's lock, and joins the live
// set under the lock only once nothing is left between its position and the
// hub's. A revision is therefore delivered either by replay or live, never
// both and never neither.
type hub struct {
	store   store.Store
	log     *slog.Logger
	bufSize int
	retain  uint64 // revisions of history to keep; 0 = all
	// maxEvents is how many events one response may carry; tests lower it
	// to see fragments without building revisions of thousands of events.
	maxEvents atomic.Int64

	stop context.CancelFunc // ends run and retention
	wg   sync.WaitGroup

	// latest returns the latest kept rank-uncertainty analyses as events,
	// for watchers joining with EVENT_KIND_UNCERTAINTY; nil means none. It
	// is called with mu held and must not call into the hub.
	latest func() []*pb.Event

	mu     sync.Mutex
	last   uint64 // highest revision published to live watchers
	subs   map[*watcher]struct{}
	closed bool
}

// watcher is one live subscription. The hub appends to its queue and wakes
// it; the stream's own goroutine (follow) takes the responses one by one and
// sends them. The goroutine waits on the single wake channel, not on a
// select over the client's context, the hub's shutdown, the cut-off and the
// progress ticker: those all arrive as a state change plus a wake-up (a
// select over five channels cost more than the wake-up itself at 1,000
// subscribers). The queue only exists while responses wait, so an idle
// watcher holds no buffer.
type watcher struct {
	filter filter
	from   uint64        // first revision it asked for; earlier ones are not its own
	wake   chan struct{} // capacity 1: the queue or the state changed

	mu    sync.Mutex
	queue []*encodedResponse // unsent, oldest first, at most the hub's bufSize
	head  int                // queue[:head] are sent
	state watchState
	// cutErr is why the hub cut the watcher off when not for being slow:
	// history it still needed was compacted before the hub published it.
	cutErr error
	tick   bool // the progress interval passed

	lastSent atomic.Uint64 // highest complete revision sent on the stream

	// One watch of a WatchMany stream (watchmany.go) has no goroutine of
	// its own: poke puts it on the stream's ready list instead.
	mux *watchMux
	id  uint64
	muxWatch
}

// watchState is why a watcher's stream must end, if it must.
type watchState uint8

const (
	watchLive     watchState = iota
	watchCut                 // dropped by the hub: too slow, or history compacted (cutErr)
	watchStopped             // the hub shut down
	watchCanceled            // the client went away
	watchDone                // follow returned
)

func (w *watcher) poke() {
	if w.mux != nil {
		w.mux.ready(w)
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// end moves a live watcher to st and wakes it; a later end changes nothing,
// so the first reason is the one reported.
func (w *watcher) end(st watchState, cutErr error) {
	w.mu.Lock()
	if w.state == watchLive {
		w.state, w.cutErr = st, cutErr
	}
	w.mu.Unlock()
	w.poke()
}

// offer queues resps, all or none: it reports false, and the watcher is cut
// off, if they do not fit in max unsent responses.
func (w *watcher) offer(resps []*encodedResponse, max int) bool {
	w.mu.Lock()
	ok := w.state == watchLive && len(w.queue)-w.head+len(resps) <= max
	if ok {
		if w.head > 0 && len(w.queue)+len(resps) > cap(w.queue) {
			// Reuse the sent prefix rather than grow: a watcher that is
			// always a little behind never empties its queue.
			n := copy(w.queue, w.queue[w.head:])
			w.queue, w.head = w.queue[:n], 0
		}
		w.queue = append(w.queue, resps...)
	} else if w.state == watchLive {
		w.state = watchCut
	}
	w.mu.Unlock()
	w.poke()
	return ok
}

// next is what follow does now: end (state other than live), send run, or
// wait (run empty and live), and whether the progress interval passed since
// the last call. run is appended to buf[:0]: the oldest queued response, and
// when the watcher is behind, the complete revisions queued after it, up to
// one response's worth of events (coalesced catch-up, see coalesce). A
// fragment always goes alone.
func (w *watcher) next(buf []*encodedResponse) (run []*encodedResponse, st watchState, tick bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	tick, w.tick = w.tick, false
	run = buf[:0]
	// A cut-off takes precedence over what is still queued, so the error
	// reports exactly what was sent.
	if w.state != watchLive {
		return run, w.state, tick
	}
	events, lastRev := 0, uint64(0)
	for w.head < len(w.queue) {
		r := w.queue[w.head]
		// Only runs whose events stay in revision order are merged: a
		// rank-uncertainty response carries the revision it analysed,
		// which may be older than the revisions queued before it.
		if len(run) > 0 && (r.Fragment || run[0].Fragment || events+len(r.Events) > w.filter.perResponse() ||
			(len(r.Events) > 0 && r.Events[0].GetRevision() < lastRev)) {
			break
		}
		run = append(run, r)
		events += len(r.Events)
		if n := len(r.Events); n > 0 {
			lastRev = r.Events[n-1].GetRevision()
		}
		w.queue[w.head] = nil
		w.head++
	}
	if w.head == len(w.queue) {
		w.queue, w.head = w.queue[:0], 0
	}
	return run, watchLive, tick
}

// coalesce is run as one response: the message to send (run[0] itself, or a
// wireMessage concatenating the run's shared bytes) and its content.
func coalesce(run []*encodedResponse) (msg any, r *pb.WatchResponse) {
	if len(run) == 1 {
		return run[0], run[0].WatchResponse
	}
	n := 0
	for _, e := range run {
		n += len(e.Events)
	}
	r = &pb.WatchResponse{Events: make([]*pb.Event, 0, n), Revision: run[len(run)-1].Revision}
	bufs := make(mem.BufferSlice, 0, len(run))
	for _, e := range run {
		r.Events = append(r.Events, e.Events...)
		if bufs != nil && e.encoded {
			bufs = append(bufs, mem.SliceBuffer(e.data))
		} else {
			bufs = nil // one failed marshal: marshal the whole again
		}
	}
	return &wireMessage{Message: r, bufs: bufs}, r
}

// unsent is how many queued responses are not sent yet.
func (w *watcher) unsent() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) - w.head
}

// isCut reports whether the hub dropped the watcher.
func (w *watcher) isCut() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state == watchCut
}

func newHub(db store.Store, log *slog.Logger, bufSize int, retain uint64) *hub {
	rev := db.Revision()
	ctx, stop := context.WithCancel(context.Background())
	h := &hub{store: db, log: log, bufSize: bufSize, retain: retain, stop: stop, last: rev, subs: map[*watcher]struct{}{}}
	h.maxEvents.Store(maxEventsPerResponse)
	h.wg.Add(1)
	go h.run(ctx, db.Subscribe(rev+1))
	if retain > 0 {
		h.wg.Add(1)
		go h.retention(ctx)
	}
	return h
}

// The hub's retries: after a subscription ended Unavailable (the store is
// closing, or replaced the view it reads: subscribe again from the same
// position), and after any other failed read (logged).
const (
	resubscribeEvery = 100 * time.Millisecond
	retryEvery       = time.Second
)

// run publishes every change the subscription delivers, in revision order,
// until ctx ends (hub.close).
func (h *hub) run(ctx context.Context, sub store.Subscription) {
	defer h.wg.Done()
	for h.step(ctx, &sub) {
	}
}

// step publishes the next changes *sub delivers and reports whether to go
// on. After a compaction, or a subscription that ended, it replaces *sub.
func (h *hub) step(ctx context.Context, sub *store.Subscription) bool {
	changes, err := (*sub).Next(ctx, 256)
	if ctx.Err() != nil {
		return false
	}
	if oldest, ok := store.IsCompacted(err); ok {
		// An admin Compact up to the newest revision dropped history the
		// hub had not read yet: live watchers would silently miss it. End
		// them as a start before the history would be; they resume (and
		// hear OutOfRange) or re-read.
		h.cutAll(compacted(oldest))
		h.mu.Lock()
		h.last = max(h.last, oldest-1)
		h.mu.Unlock()
		*sub = h.store.Subscribe(oldest)
		return true
	}
	if err != nil {
		wait := retryEvery
		if estimator.ErrorCode(err) == estimator.EUnavailable {
			// The subscription is over. The store may be closing (and the
			// server with it: close cancels ctx), or an implementation
			// may have replaced its view: a new subscription from the
			// hub's position delivers what follows, or says that it was
			// compacted. Live watchers keep their place either way.
			wait = resubscribeEvery
			h.mu.Lock()
			next := h.last + 1
			h.mu.Unlock()
			*sub = h.store.Subscribe(next)
		} else {
			h.log.Error("watch hub: read committed changes", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		return true
	}
	for _, c := range changes {
		h.publish(c)
	}
	return true
}

// retention applies the retention every compactEvery.
func (h *hub) retention(ctx context.Context) {
	defer h.wg.Done()
	t := time.NewTicker(compactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.compact()
		}
	}
}

// compactEvery is how often retention is applied.
const compactEvery = time.Minute

// compact applies the retention: history older than retain revisions goes.
func (h *hub) compact() {
	h.mu.Lock()
	last := h.last
	h.mu.Unlock()
	if last <= h.retain {
		return
	}
	if res, err := h.store.Compact(last - h.retain); err != nil {
		h.log.Error("watch retention: compact", slog.Any("error", err))
	} else if res.Dropped > 0 {
		h.log.Info("watch retention: compacted", slog.Int("dropped", res.Dropped), slog.Uint64("oldest_revision", res.Oldest))
	}
}

// publish offers one committed change to the live watchers. With nobody
// watching it only moves h.last: converting is for watchers, and one that
// joins later replays from the store anyway.
func (h *hub) publish(c store.Change) {
	h.mu.Lock()
	if len(h.subs) == 0 {
		h.last = c.Revision
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	h.offer(c.Revision, eventsOf(c))
}

// offer offers one revision to every live watcher. Watchers with the same
// filter (every dashboard uses the empty one) share the same responses: the
// filtering and the marshalling run once per distinct filter, and every
// stream of that filter sends the same bytes.
func (h *hub) offer(rev uint64, events []*pb.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = rev
	shared := map[string][]*encodedResponse{}
	for w := range h.subs {
		if rev < w.from {
			continue // it asked to start later (a start_revision ahead of the log)
		}
		resps, ok := shared[w.filter.key]
		if !ok {
			for _, r := range w.filter.responses(rev, events) {
				resps = append(resps, encodeResponse(r))
			}
			shared[w.filter.key] = resps
		}
		if !w.offer(resps, h.bufSize) {
			delete(h.subs, w)
		}
	}
}

// cutAll drops every live watcher, which ends its stream with err.
func (h *hub) cutAll(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.subs {
		w.end(watchCut, err)
		delete(h.subs, w)
	}
}

// join adds w to the live set if nothing lies between next and the hub's
// position, and reports the hub's position either way.
func (h *hub) join(w *watcher, next uint64) (joined bool, last uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		w.end(watchStopped, nil)
		return true, h.last
	}
	if next > h.last {
		// Everything up to h.last was replayed (or is before "now"). A
		// start ahead of the hub keeps its own position: the stream never
		// reports a revision below the one it was asked to start after.
		if h.last > w.lastSent.Load() {
			w.lastSent.Store(h.last)
		}
		h.subs[w] = struct{}{}
		h.offerLatest(w)
		return true, h.last
	}
	return false, h.last
}

// offerUncertainty offers one rank-uncertainty analysis (not a committed
// change: live only) to the live watchers that asked for it, in a response
// completing the hub's position, which every queued response reaches.
func (h *hub) offerUncertainty(e *pb.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var resps []*encodedResponse
	for w := range h.subs {
		if h.last < w.from || !w.filter.pass(e) {
			continue
		}
		if resps == nil {
			resps = []*encodedResponse{encodeResponse(&pb.WatchResponse{Events: []*pb.Event{e}, Revision: h.last})}
		}
		if !w.offer(resps, h.bufSize) {
			delete(h.subs, w)
		}
	}
}

// offerLatest queues, for a watcher that asked for rank-uncertainty
// analyses and just joined, the latest of each year (h.mu held, so that no
// newer analysis can be offered before them).
func (h *hub) offerLatest(w *watcher) {
	if h.latest == nil || !w.filter.wantsUncertainty() || h.last < w.from {
		return
	}
	var events []*pb.Event
	for _, e := range h.latest() {
		if w.filter.pass(e) {
			events = append(events, e)
		}
	}
	if len(events) > 0 && !w.offer([]*encodedResponse{encodeResponse(&pb.WatchResponse{Events: events, Revision: h.last})}, h.bufSize) {
		delete(h.subs, w)
	}
}

func (h *hub) leave(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, w)
}

// caughtUp reports the hub's position and whether w holds nothing unsent.
func (h *hub) caughtUp(w *watcher) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last, w.unsent() == 0
}

func (h *hub) newWatcher(f filter, from uint64) *watcher {
	f.maxEvents = int(h.maxEvents.Load())
	f.key = fmt.Sprint(f.kinds, f.provinces, f.years, f.maxEvents)
	return &watcher{filter: f, from: from, wake: make(chan struct{}, 1)}
}

// isClosed reports whether the hub has shut down.
func (h *hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// subscribers is how many watchers are live.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// close ends every live stream (with Unavailable) and stops the hub.
func (h *hub) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		for w := range h.subs {
			w.end(watchStopped, nil)
		}
		h.subs = map[*watcher]struct{}{}
		h.stop()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// maxLag is the largest number of revisions a live watcher is behind.
func (h *hub) maxLag() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lag uint64
	for w := range h.subs {
		if sent := w.lastSent.Load(); h.last > sent {
			lag = max(lag, h.last-sent)
		}
	}
	return lag
}
