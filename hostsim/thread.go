package hostsim

// A thread is a worker VM's long-lived goroutine, Envoy's worker thread: Proxy hands it the
// callbacks of requests with a body instead of running them on the goroutines it makes per
// request (a headers-only request needs none: it runs on its connection's goroutine).
//
// Calls into the module need a deep Go stack (wazero's call path, the host functions, and the
// module's allocator re-entered from them), and a goroutine starts with a small one: a goroutine
// made per request grows (copies) its stack inside every request's first callbacks, which cost
// Proxy more than the callbacks themselves. The thread's stack stays grown. The VM's lock still
// serializes the callbacks: the thread is where they run, not what guards them, so streams
// driven directly (Stream's methods from any goroutine) and Proxy's streams mix freely.
type thread struct {
	work chan func()
	done chan any // what the function panicked with, or nil
	quit chan struct{}
}

func startThread() *thread {
	t := &thread{work: make(chan func()), done: make(chan any), quit: make(chan struct{})}
	go t.loop()
	return t
}

func (t *thread) loop() {
	for {
		select {
		case f := <-t.work:
			t.done <- t.call(f)
		case <-t.quit:
			return
		}
	}
}

// call runs f, handing a panic back to the caller's goroutine, where it would have happened.
func (t *thread) call(f func()) (panicked any) {
	defer func() { panicked = recover() }()
	f()
	return nil
}

// run runs f on the thread and waits for it; once the thread has stopped (the VM closed), on
// the caller's goroutine. work is unbuffered, so the thread takes the next f only after the
// previous caller received its result: one done channel serves every caller.
func (t *thread) run(f func()) {
	select {
	case t.work <- f:
	case <-t.quit:
		f()
		return
	}
	if p := <-t.done; p != nil {
		panic(p)
	}
}

// stop ends the thread once it has finished what it runs; the caller makes sure it is called
// once.
func (t *thread) stop() { close(t.quit) }
