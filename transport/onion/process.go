package onion

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/process"
)

// creator is the bine process.Creator for tor: unlike bine's default it
// keeps tor's output (for error messages and the log) instead of copying it
// to this process's stdout, and its Start returns only once tor has written
// its control port file, so bine's short retry loop always finds it.
type creator struct {
	exe      string
	out      *logTail
	startCtx context.Context
	proc     *torProcess
}

func (c *creator) New(ctx context.Context, args ...string) (process.Process, error) {
	cmd := exec.CommandContext(ctx, c.exe, args...)
	cmd.Stdout = c.out
	cmd.Stderr = c.out
	cmd.WaitDelay = exitWait
	p := &torProcess{cmd: cmd, startCtx: c.startCtx, out: c.out, done: make(chan struct{})}
	for i, a := range args {
		if a == "--ControlPortWriteToFile" && i+1 < len(args) {
			p.portFile = args[i+1]
		}
	}
	c.proc = p
	return p, nil
}

func (c *creator) removePortFile() {
	if c.proc != nil && c.proc.portFile != "" {
		os.Remove(c.proc.portFile)
	}
}

// torProcess is one tor process. Wait may be called any number of times.
type torProcess struct {
	cmd      *exec.Cmd
	startCtx context.Context
	out      *logTail
	portFile string
	started  bool
	done     chan struct{} // closed when the process has exited
	err      error         // exit status, set before done is closed
}

// exitError is returned by Start when tor exits before it is ready.
type exitError struct{ err error }

func (e *exitError) Error() string { return fmt.Sprintf("tor exited: %v", e.err) }

func (p *torProcess) Start() error {
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.cmd.Path, err)
	}
	p.started = true
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if p.portFile == "" {
		return nil
	}
	deadline := time.NewTimer(controlPortWait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(p.portFile); err == nil && bytes.HasPrefix(b, []byte("PORT=")) && bytes.HasSuffix(b, []byte("\n")) {
			return nil
		}
		var err error
		select {
		case <-p.done:
			return &exitError{p.err}
		case <-p.startCtx.Done():
			err = p.startCtx.Err()
		case <-deadline.C:
			err = fmt.Errorf("tor did not open its control port within %v", controlPortWait)
		case <-tick.C:
			continue
		}
		// bine does not stop a process whose Start failed: do it here.
		p.cmd.Process.Kill()
		<-p.done
		return err
	}
}

func (p *torProcess) Wait() error {
	<-p.done
	return p.err
}

func (p *torProcess) EmbeddedControlConn() (net.Conn, error) {
	return nil, process.ErrControlConnUnsupported
}

// logTail receives tor's output: it keeps the last lines for error messages
// and forwards each line to the logger.
type logTail struct {
	log     *slog.Logger
	mu      sync.Mutex
	partial []byte
	lines   []string // ring of the last maxTail lines
}

const maxTail = 32

func newLogTail(log *slog.Logger) *logTail { return &logTail{log: log} }

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		if line == "" {
			continue
		}
		if len(l.lines) == maxTail {
			l.lines = l.lines[1:]
		}
		l.lines = append(l.lines, line)
		l.forward(line)
	}
	if len(l.partial) > 64<<10 { // a line that never ends
		l.partial = l.partial[:0]
	}
	return len(p), nil
}

// forward logs a tor line ("Nov 25 12:52:43.450 [notice] Bootstrapped 5%
// ...") at the matching level.
func (l *logTail) forward(line string) {
	// tor warns about many things that are expected here (a private test
	// network, running as root): its warnings are informational for us,
	// its errors are our warnings.
	level, msg := slog.LevelDebug, line
	if i := strings.Index(line, "] "); i >= 0 {
		switch {
		case strings.Contains(line[:i], "[warn"):
			level = slog.LevelInfo
		case strings.Contains(line[:i], "[err"):
			level = slog.LevelWarn
		}
		msg = line[i+2:]
	}
	l.log.Log(context.Background(), level, "tor: "+msg)
}

// last returns the last line tor wrote, without its timestamp.
func (l *logTail) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return ""
	}
	return stripTimestamp(l.lines[len(l.lines)-1])
}

// problems returns tor's last warning and error lines (at most n), oldest
// first, without timestamps.
func (l *logTail) problems(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for i := len(l.lines) - 1; i >= 0 && len(out) < n; i-- {
		if s := stripTimestamp(l.lines[i]); strings.HasPrefix(s, "[warn]") || strings.HasPrefix(s, "[err]") {
			out = append([]string{s}, out...)
		}
	}
	return out
}

// stripTimestamp turns "Nov 25 12:52:43.450 [warn] msg" into "[warn] msg".
func stripTimestamp(line string) string {
	if i := strings.Index(line, " ["); i >= 0 && i < 24 {
		return line[i+1:]
	}
	return line
}
