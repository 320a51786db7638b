package backup

// SetDropTombstone installs f as the dropTombstone hook, so a test can
// make one incremental lose tombstones. A nil f removes the hook.
func SetDropTombstone(f func(src, ns string) bool) {
	dropTombstone = f
}
