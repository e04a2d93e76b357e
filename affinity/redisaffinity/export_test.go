package redisaffinity

// Test hooks, set only by tests in package redisaffinity_test.

// SetAfterPrimary makes l call f after a Get or Touch has read its primary
// and before it fills the cache.
func SetAfterPrimary(l *Layered, f func(op string)) { l.afterPrimary = f }

// SetBeforePrimaryTouch makes l call f after a Touch consulted the cache
// and before it touches the primary.
func SetBeforePrimaryTouch(l *Layered, f func()) { l.beforePrimaryTouch = f }

// SetTouchRetryHook makes s call f between a touch's first script, which
// found a write due, and the script that writes.
func SetTouchRetryHook(s *Store, f func()) { s.touchRetryHook = f }
