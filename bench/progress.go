package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress is one line on stderr, rewritten in place, and only on a
// terminal (a log would keep every version of the line): a bar for the
// whole run, the running part out of how many, a rough time left, and what
// the part is doing.
//
//	[#########...............]  36%  3/7 http read path  ~3m40s left  http read, sticky node: pgsession 4.1s/10s
//
// A run is a fixed list of parts whose lengths are estimated from the
// settings (plan). Within a part the bar moves with the time spent in it
// against its estimate, held below the part's end until the part is over,
// so it never claims a part is done before it is, and it never moves back.

// part is one stage of a run and how long it is expected to take.
type part struct {
	name     string
	estimate time.Duration
}

// Part names, as run passes them to progressPart.
const (
	partOps    = "single operations"
	partHTTP   = "http workload"
	partRead   = "http read path"
	partMemory = "memory per session"
	partTouch  = "touch writes"
	partSweep  = "sweep under load"
	partBig    = "large table"
)

// plan lists the parts of a run in the order run calls them, with estimates
// from the sizes in s (rough fits to a full and a quick run on 2 cores;
// only the bar's pace depends on them).
func plan(s settings) []part {
	secs := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	bigRows := s.bigTableRows()
	return []part{
		{partOps, secs(float64(s.ops)*18*0.5e-3 + 2)},
		{partHTTP, 4*s.duration + secs(2)},
		{partRead, 6*s.readDuration + secs(4)},
		{partMemory, secs(float64(2*s.memorySess+s.memoryLarge())*25e-6 + 1)},
		{partTouch, 3*s.touchWindow() + secs(float64(s.touchSessions())*2e-3)},
		{partSweep, s.duration + secs(float64(s.sweepRows())*40e-6+1)},
		{partBig, secs(float64(bigRows[len(bigRows)-1])*8e-6 + float64(len(bigRows)*s.ops*2)*0.2e-3 + 3)},
	}
}

// progressWidth is the width of the line: what an 80-column terminal shows.
const progressWidth = 79

// barWidth is the number of cells of the bar itself.
const barWidth = 24

type progressBar struct {
	mu      sync.Mutex
	on      bool // stderr is a terminal
	shown   bool // a line is on screen
	parts   []part
	total   time.Duration // sum of the estimates
	current int           // index of the running part; -1 before the first
	before  time.Duration // estimates of the parts before the running one
	began   time.Time     // when the running part began
	started time.Time     // when the run began
	drawn   float64       // the fraction last drawn
	doing   string        // what the running part said it is doing
}

var bar = &progressBar{on: isTerminal(os.Stderr), current: -1}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressPlan starts the bar for a run of these parts.
func progressPlan(parts []part) {
	bar.mu.Lock()
	defer bar.mu.Unlock()
	bar.parts, bar.current, bar.before, bar.total = parts, -1, 0, 0
	for _, p := range parts {
		bar.total += p.estimate
	}
	bar.started, bar.drawn, bar.doing = time.Now(), 0, ""
}

// progressPart marks the start of the named part of the plan; parts it
// skips count as done.
func progressPart(name string) {
	bar.mu.Lock()
	defer bar.mu.Unlock()
	for i := bar.current + 1; i < len(bar.parts); i++ {
		if bar.parts[i].name != name {
			continue
		}
		bar.before = 0
		for _, p := range bar.parts[:i] {
			bar.before += p.estimate
		}
		bar.current, bar.began, bar.doing = i, time.Now(), ""
		bar.draw()
		return
	}
}

// progress shows what the running part is doing.
func progress(format string, args ...any) {
	bar.mu.Lock()
	defer bar.mu.Unlock()
	bar.doing = fmt.Sprintf(format, args...)
	bar.draw()
}

// fraction is how far the run is: the parts before the running one, plus
// its time so far against its estimate, held at 95% of it until it ends.
func (b *progressBar) fraction(now time.Time) float64 {
	if b.total <= 0 || b.current < 0 {
		return 0
	}
	est := b.parts[b.current].estimate
	in := min(now.Sub(b.began), est*95/100)
	return max(b.drawn, float64(b.before+in)/float64(b.total))
}

// draw writes the line; the caller holds b.mu.
func (b *progressBar) draw() {
	if !b.on {
		return
	}
	now := time.Now()
	f := b.fraction(now)
	b.drawn = f
	filled := int(f * barWidth)
	line := fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), 100*f)
	if b.current >= 0 {
		line += fmt.Sprintf("  %d/%d %s", b.current+1, len(b.parts), b.parts[b.current].name)
	}
	if elapsed := now.Sub(b.started); f > 0.02 {
		left := time.Duration(float64(elapsed) * (1 - f) / f)
		line += "  ~" + left.Round(time.Second).String() + " left"
	}
	if b.doing != "" {
		line += "  " + b.doing
	}
	if r := []rune(line); len(r) > progressWidth {
		line = string(r[:progressWidth]) // by characters: %-*s pads by them too
	}
	fmt.Fprintf(os.Stderr, "\r%-*s", progressWidth, line)
	b.shown = true
}

// progressDone clears the line (before a table is printed, or an error).
func progressDone() {
	bar.mu.Lock()
	defer bar.mu.Unlock()
	if bar.shown {
		fmt.Fprintf(os.Stderr, "\r%s\r", strings.Repeat(" ", progressWidth))
		bar.shown = false
	}
}
