package devgateway

import (
	"sync"

	"github.com/stepgate/stepgate/hostsim"
)

// startLog holds a plugin's log lines while it starts. Envoy starts the plugin on a
// configuration canary and then on every worker, so each start-up line comes once per VM, and a
// refused configuration's error would print once from the plugin and again in the refusal. Held
// lines are printed once each when the start succeeds; on a refusal only the lines below warn
// are, since the refusal quotes the others. After the start, lines print as they come.
type startLog struct {
	print func(hostsim.LogEntry)

	mu   sync.Mutex
	held []hostsim.LogEntry
	live bool
}

func (l *startLog) onLog(e hostsim.LogEntry) {
	l.mu.Lock()
	if !l.live {
		l.held = append(l.held, e)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.print(e)
}

// started prints the held lines, each distinct line once, and lets later lines through.
func (l *startLog) started(refused bool) {
	l.mu.Lock()
	held := l.held
	l.held, l.live = nil, true
	l.mu.Unlock()
	type key struct {
		level hostsim.LogLevel
		msg   string
	}
	seen := map[key]bool{}
	for _, e := range held {
		k := key{e.Level, e.Message}
		if seen[k] || (refused && e.Level >= hostsim.LevelWarn) {
			continue
		}
		seen[k] = true
		l.print(e)
	}
}
