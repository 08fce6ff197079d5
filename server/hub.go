package server

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// hub publishes committed revisions to live watchers. It never sits on the
// commit path: a commit only wakes it (a non-blocking send), and it reads the
// new entries from the change log itself, in revision order, converting each
// once. Every watcher has a bounded buffer; one that is full is cut off
// rather than waited for, so a stalled subscriber can neither slow ingest
// nor other subscribers, and memory stays bounded.
//
// Replay is the watcher's own work (watch.go): it reads the log up to the
// hub's published revision without holding the hub's lock, and joins the live
// set under the lock only once nothing is left between its position and the
// hub's. A revision is therefore delivered either by replay or live, never
// both and never neither.
type hub struct {
	store   *store.DB
	log     *slog.Logger
	bufSize int
	retain  uint64 // revisions of history to keep; 0 = all
	// maxEvents is how many events one response may carry; tests lower it
	// to see fragments without building revisions of thousands of events.
	maxEvents atomic.Int64

	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	last   uint64 // highest revision published to live watchers
	subs   map[*watcher]struct{}
	closed bool
}

// watcher is one live subscription.
type watcher struct {
	filter filter
	from   uint64 // first revision it asked for; earlier ones are not its own
	ch     chan *encodedResponse
	// cut is closed when the hub dropped the watcher: for being slow, or
	// (with cutErr set first) because history it still needed was compacted
	// before the hub could publish it.
	cut      chan struct{}
	cutErr   error
	stop     chan struct{} // closed when the hub shuts down
	lastSent atomic.Uint64 // highest complete revision sent on the stream
}

func newHub(db *store.DB, log *slog.Logger, bufSize int, retain uint64) (*hub, error) {
	rev, err := db.Revision()
	if err != nil {
		return nil, err
	}
	h := &hub{store: db, log: log, bufSize: bufSize, retain: retain, wake: make(chan struct{}, 1), done: make(chan struct{}),
		last: rev, subs: map[*watcher]struct{}{}}
	h.maxEvents.Store(maxEventsPerResponse)
	h.wg.Add(1)
	go h.run()
	return h, nil
}

// notify wakes the hub after a commit; it never blocks.
func (h *hub) notify() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// pollInterval is a safety net: the hub also looks at the log this often, so
// that a commit whose wake-up was somehow missed is still published.
const pollInterval = time.Second

func (h *hub) run() {
	defer h.wg.Done()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	lastCompact := time.Now()
	for {
		select {
		case <-h.done:
			return
		case <-h.wake:
		case <-t.C:
		}
		h.drain()
		if h.retain > 0 && time.Since(lastCompact) >= compactEvery {
			lastCompact = time.Now()
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

// drain publishes every revision after h.last that the log holds.
func (h *hub) drain() {
	for {
		h.mu.Lock()
		from := h.last + 1
		h.mu.Unlock()
		changes, err := h.store.Changes(from, 256)
		if err != nil {
			h.log.Error("watch hub: read change log", slog.Any("error", err))
			return
		}
		if len(changes) == 0 {
			return
		}
		if first := changes[0].Revision; first != from {
			// An admin Compact up to the newest revision ran before the
			// hub had read what it dropped: live watchers would silently
			// miss [from, first). End them as a start before the history
			// would be; they resume (and hear OutOfRange) or re-read.
			h.cutAll(compacted(first))
		}
		for _, c := range changes {
			h.publish(c.Revision, eventsOf(c))
		}
	}
}

// publish offers one revision to every live watcher. Watchers with the same
// filter (every dashboard uses the empty one) share the same responses: the
// filtering and the marshalling run once per distinct filter, and every
// stream of that filter sends the same bytes.
func (h *hub) publish(rev uint64, events []*pb.Event) {
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
		for _, r := range resps {
			select {
			case w.ch <- r:
				continue
			default:
			}
			close(w.cut)
			delete(h.subs, w)
			break
		}
	}
}

// cutAll drops every live watcher, which ends its stream with err.
func (h *hub) cutAll(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.subs {
		w.cutErr = err
		close(w.cut)
		delete(h.subs, w)
	}
}

// join adds w to the live set if nothing lies between next and the hub's
// position, and reports the hub's position either way.
func (h *hub) join(w *watcher, next uint64) (joined bool, last uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(w.stop)
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
		return true, h.last
	}
	return false, h.last
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
	return h.last, len(w.ch) == 0
}

func (h *hub) newWatcher(f filter, from uint64) *watcher {
	f.maxEvents = int(h.maxEvents.Load())
	f.key = fmt.Sprint(f.kinds, f.provinces, f.years, f.maxEvents)
	return &watcher{filter: f, from: from, ch: make(chan *encodedResponse, h.bufSize), cut: make(chan struct{}), stop: make(chan struct{})}
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
			close(w.stop)
		}
		h.subs = map[*watcher]struct{}{}
		close(h.done)
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
