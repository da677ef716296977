package devgateway

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// defaultCallLogMaxBytes is the size at which the call log is rotated when Config.CallLogMaxBytes
// is unset.
const defaultCallLogMaxBytes = 100 << 20

// callLogBackups is how many rotated files are kept: FILE.1 (newest) … FILE.3.
const callLogBackups = 3

// callRecordPrefix starts every call record the filter logs (docs/CALL-RECORD.md): other log
// lines never start with it.
const callRecordPrefix = `{"ts_ms":`

// callLog appends the filter's call records to a file of JSON lines. When a line would take the
// file over max bytes, the file is rotated first (FILE → FILE.1 → FILE.2 …), so a long-running
// gateway never fills the disk and readers always see whole lines.
type callLog struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
	err  error // the last write or rotation failure, reported once
}

func openCallLog(path string, max int64) (*callLog, error) {
	if max <= 0 {
		max = defaultCallLogMaxBytes
	}
	c := &callLog{path: path, max: max}
	if err := c.open(); err != nil {
		return nil, fmt.Errorf("devgateway: call log: %w", err)
	}
	return c, nil
}

func (c *callLog) open() error {
	f, err := os.OpenFile(c.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	c.f, c.size = f, st.Size()
	return nil
}

// write appends one record and a newline. A failure is returned once, then the log stays quiet
// until writing works again, so that a full disk does not flood the gateway's own log.
func (c *callLog) write(record string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := int64(len(record) + 1)
	var err error
	if c.f != nil && c.size > 0 && c.size+n > c.max {
		err = c.rotate()
	}
	if err == nil && c.f == nil {
		err = c.open()
	}
	if err == nil {
		_, err = c.f.WriteString(record + "\n")
		c.size += n
	}
	return c.report(err)
}

func (c *callLog) report(err error) error {
	if err == nil || c.err != nil && c.err.Error() == err.Error() {
		c.err = err
		return nil
	}
	c.err = err
	return fmt.Errorf("devgateway: call log: %w", err)
}

// rotate shifts FILE.i to FILE.i+1 (dropping the oldest) and FILE to FILE.1.
func (c *callLog) rotate() error {
	err := c.f.Close()
	c.f = nil
	for i := callLogBackups - 1; i >= 1; i-- {
		_ = os.Rename(c.backup(i), c.backup(i+1)) // a missing backup is fine
	}
	if rerr := os.Rename(c.path, c.backup(1)); err == nil {
		err = rerr
	}
	return err
}

func (c *callLog) backup(i int) string { return c.path + "." + strconv.Itoa(i) }

func (c *callLog) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}

func isCallRecord(msg string) bool { return strings.HasPrefix(msg, callRecordPrefix) }
