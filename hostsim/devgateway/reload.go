package devgateway

import (
	"bytes"
	"context"
	"errors"
	"os"
	"time"
)

var errEmptyReload = errors.New("devgateway: empty configuration refused: an empty document is accepted only at start (on a reload it would drop every route)")

// Reload starts the plugin with config and, if the plugin accepts it, switches new requests to
// it; requests in flight finish on the old configuration. A refused configuration changes
// nothing and the error is the plugin's own (hostsim's start error with the plugin's log lines).
// An empty document (or only white space) is refused: it is valid only at start.
func (g *Gateway) Reload(ctx context.Context, config []byte) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.mu.Lock()
	closing := g.closing
	g.mu.Unlock()
	if closing {
		return errors.New("devgateway: shutting down")
	}
	if len(bytes.TrimSpace(config)) == 0 {
		// The plugin takes an empty document as "no configuration" (pass everything through),
		// which is what an operator means at start and almost never on a reload: an emptied or
		// truncated file would drop every route.
		return errEmptyReload
	}
	if g.mock != nil && g.mock.acceptKeys(providerKeys(config), awsSecrets(config)) {
		g.logf("devgateway: new provider keys: the mock providers restarted empty (no recorded requests or faults)")
	}
	next, err := g.newGeneration(ctx, config)
	if err != nil {
		return err
	}
	g.replace(next)
	return nil
}

// watch reloads ConfigPath when its modification time or size differs from last and has stayed
// the same for one ReloadInterval: a file caught in the middle of a write (truncated, even empty,
// which the plugin would take as the default configuration) is never loaded.
func (g *Gateway) watch(last fileStamp) {
	defer g.bg.Done()
	t := time.NewTicker(g.cfg.ReloadInterval)
	defer t.Stop()
	seen := last // the stamp at the previous tick
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		stamp, err := statStamp(g.cfg.ConfigPath)
		if err != nil || stamp == last {
			continue // a missing file (an editor replacing it) is looked at again next time
		}
		if stamp != seen {
			seen = stamp // still changing, or just changed: look again next tick
			continue
		}
		data, err := os.ReadFile(g.cfg.ConfigPath)
		if err != nil {
			continue
		}
		last = stamp
		if bytes.Equal(data, g.PluginConfig()) {
			continue
		}
		err = g.reloadFile(data)
		if g.cfg.OnReload != nil {
			g.cfg.OnReload(err)
		}
	}
}

func (g *Gateway) reloadFile(data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := g.Reload(ctx, data); err != nil {
		g.logf("devgateway: %s: configuration refused, the previous one keeps serving: %v", g.cfg.ConfigPath, err)
		return err
	}
	g.logf("devgateway: %s: configuration reloaded", g.cfg.ConfigPath)
	return nil
}

type fileStamp struct{ modNanos, size int64 }

func statStamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime().UnixNano(), fi.Size()}, nil
}
