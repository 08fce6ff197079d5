package store

// RaiseNextRevision makes the next committed write take revision rev if that
// is above the revision it would take anyway; later writes count on from
// there. It is for a store that mirrors another revisioned source (cluster
// mode materialises etcd's writes and keeps etcd's revision numbers, so the
// same change has the same revision on every node), which then has gaps: the
// Store contract allows them. The caller must be the only writer while it
// relies on this, or another write may take the raised revision instead.
func (db *DB) RaiseNextRevision(rev uint64) {
	for {
		cur := db.revFloor.Load()
		if rev <= cur || db.revFloor.CompareAndSwap(cur, rev) {
			return
		}
	}
}
