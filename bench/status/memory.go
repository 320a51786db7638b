package main

import (
	"sync"
	"time"

	"github.com/lifeline-backup/lifeline/bench/internal/benchenv"
)

// memoryStats are the RSS samples of one process, in bytes.
type memoryStats struct {
	Peak, Final int64
	Samples     int
}

// rssSampler reads a process's RSS at a fixed interval.
type rssSampler struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu    sync.Mutex
	stats memoryStats
}

func startRSSSampler(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			s.sample()
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// sample records the current RSS. A failed read, as after the process
// has exited, is not recorded.
func (s *rssSampler) sample() {
	rss, err := benchenv.ProcessRSS(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Peak = max(s.stats.Peak, rss)
	s.stats.Final = rss
	s.stats.Samples++
}

func (s *rssSampler) stop() {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
}

// finish takes a last sample, stops sampling and returns the figures.
func (s *rssSampler) finish() memoryStats {
	s.stop()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
