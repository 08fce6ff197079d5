package server

import (
	"fmt"

	"github.com/computescale/computescale/estimator"
)

// WatchAheadMargin is how far beyond the current revision a watch may ask to
// start. Up to it a watch waits for the revision to be written, as etcd's
// does (a client resuming at last+1 on a server that is a little behind, or
// starting at the next revision, is legitimate); a start further ahead is
// a mistake (a timestamp, a revision of another store) that would otherwise
// wait silently for ever, so it is refused with InvalidArgument.
const WatchAheadMargin = 100_000

// checkStartRevision refuses a start_revision beyond the current revision
// plus WatchAheadMargin.
func (s *Server) checkStartRevision(start uint64) error {
	cur := s.store.Revision()
	if start <= cur || start-cur <= WatchAheadMargin {
		return nil
	}
	return invalid("start_revision is too far ahead", estimator.FieldViolation{Field: "start_revision",
		Description: fmt.Sprintf("%d is more than %d revisions beyond the current revision %d; resume from a revision this store gave you (at most current + 1)", start, WatchAheadMargin, cur)})
}
