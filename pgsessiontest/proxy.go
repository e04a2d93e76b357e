package pgsessiontest

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy on 127.0.0.1 for fault tests: put it between a node
// and PostgreSQL, then cut, black-hole or refuse connections at will. It
// stops, closing everything, when the test ends.
type Proxy struct {
	target string
	ln     net.Listener

	mu    sync.Mutex
	mode  proxyMode             // guarded by mu
	conns map[net.Conn]net.Conn // guarded by mu; client side -> server side
	wg    sync.WaitGroup
}

type proxyMode int

const (
	modePass proxyMode = iota
	modeBlackhole
	modeRefuse
	modeDropReplies
)

// NewProxy starts a proxy to target (host:port).
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("pgsessiontest: proxy listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]net.Conn{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Pass forwards traffic normally (the initial mode).
func (p *Proxy) Pass() { p.setMode(modePass) }

// Blackhole keeps every connection open but delivers nothing either way,
// as a network that silently drops packets does.
func (p *Proxy) Blackhole() { p.setMode(modeBlackhole) }

// DropReplies delivers what clients send but nothing the server answers: a
// write then commits while its caller waits for a reply that never comes.
func (p *Proxy) DropReplies() { p.setMode(modeDropReplies) }

// Refuse closes every open connection and each new one at once.
func (p *Proxy) Refuse() {
	p.RefuseNew()
	p.Cut()
}

// RefuseNew closes each new connection at once and leaves open ones alone,
// so a test can end a connection its own way (on the server, say) and keep
// the client from reconnecting.
func (p *Proxy) RefuseNew() { p.setMode(modeRefuse) }

// Cut closes every open connection; new ones are served per the mode.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, s := range p.conns {
		c.Close()
		s.Close()
	}
}

func (p *Proxy) setMode(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

func (p *Proxy) currentMode() proxyMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.currentMode() == modeRefuse {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c] = s
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s, c, false)
		go p.pipe(s, c, c, true)
	}
}

// pipe copies src to dst, dropping what it reads while black-holed, or
// while replies are dropped if this pipe carries them (toClient).
func (p *Proxy) pipe(src, dst net.Conn, client net.Conn, toClient bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if mode := p.currentMode(); n > 0 && mode != modeBlackhole && !(toClient && mode == modeDropReplies) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			src.Close()
			dst.Close()
			p.mu.Lock()
			delete(p.conns, client)
			p.mu.Unlock()
			return
		}
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}
