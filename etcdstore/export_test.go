package etcdstore

// SetRebuildHook makes every later rebuild of s call h after opening its
// fresh view and before filling it, so a test can read s mid-rebuild.
func SetRebuildHook(s *Store, h func()) { s.rebuildHook.Store(&h) }
