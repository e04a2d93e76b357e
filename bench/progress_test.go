package main

import (
	"testing"
	"time"
)

// The bar counts finished parts, moves with the running part's time, stops
// short of that part's end until the next one starts, and never moves back.
func TestProgressFraction(t *testing.T) {
	b := &progressBar{current: -1}
	b.parts = []part{{"a", 10 * time.Second}, {"b", 30 * time.Second}}
	b.total = 40 * time.Second
	t0 := time.Now()
	if f := b.fraction(t0); f != 0 {
		t.Fatalf("before the first part: %v, want 0", f)
	}

	b.current, b.before, b.began = 0, 0, t0
	if f := b.fraction(t0.Add(5 * time.Second)); f != 0.125 {
		t.Fatalf("halfway through a: %v, want 0.125", f)
	}
	late := b.fraction(t0.Add(time.Hour))
	if want := 0.95 * 10 / 40; late != want {
		t.Fatalf("a running past its estimate: %v, want %v (held below its end)", late, want)
	}

	b.drawn = 0.3 // drawn earlier, further than b would now be at its start
	b.current, b.before, b.began = 1, 10*time.Second, t0
	if f := b.fraction(t0); f != 0.3 {
		t.Fatalf("start of b after 0.3 was drawn: %v, want 0.3 (never back)", f)
	}
	if f := b.fraction(t0.Add(20 * time.Second)); f != 0.75 {
		t.Fatalf("two thirds into b: %v, want 0.75", f)
	}
}
