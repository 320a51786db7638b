package schedule

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestFakeClock_AfterFiresAtDeadline(t *testing.T) {
	start := utc("2024-01-31 00:30")
	c := NewFakeClock(start)
	ch := c.After(time.Minute)

	c.Advance(59 * time.Second)
	select {
	case got := <-ch:
		t.Fatalf("After(1m) fired at %v, 59s after start", got)
	default:
	}
	c.Advance(time.Second)
	select {
	case got := <-ch:
		if want := start.Add(time.Minute); !got.Equal(want) {
			t.Errorf("After(1m) sent %v, want %v", got, want)
		}
	default:
		t.Fatal("After(1m) did not fire at its deadline")
	}
}

func TestFakeClock_SetBackwardFiresNothing(t *testing.T) {
	c := NewFakeClock(utc("2024-01-31 00:30"))
	ch := c.After(time.Minute)
	c.Set(utc("2024-01-30 00:30"))
	select {
	case got := <-ch:
		t.Fatalf("After fired at %v after setting the clock back", got)
	default:
	}
	if got, want := c.Now(), utc("2024-01-30 00:30"); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
}

func TestFakeClock_AfterZeroFiresAtOnce(t *testing.T) {
	c := NewFakeClock(utc("2024-01-31 00:30"))
	select {
	case <-c.After(0):
	default:
		t.Fatal("After(0) did not fire at once")
	}
	c.BlockUntil(0)
}

func TestFakeClock_NowIsUTC(t *testing.T) {
	zone := time.FixedZone("UTC+2", 2*60*60)
	c := NewFakeClock(time.Date(2024, 1, 31, 2, 30, 0, 0, zone))
	if got := c.Now(); got.Location() != time.UTC {
		t.Errorf("Now().Location() = %v, want UTC", got.Location())
	}
	if got, want := c.Now(), utc("2024-01-31 00:30"); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
}

func TestFakeClock_BlockUntilCountsWaiters(t *testing.T) {
	c := NewFakeClock(utc("2024-01-31 00:30"))
	var wg sync.WaitGroup
	for _, d := range []time.Duration{time.Minute, time.Hour} {
		wg.Go(func() { <-c.After(d) })
	}
	c.BlockUntil(2)

	c.Advance(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.BlockUntilContext(ctx, 2); err == nil {
		t.Error("BlockUntilContext(2) with one waiter left = nil, " +
			"want the context error")
	}
	c.BlockUntil(1)
	c.Advance(time.Hour)
	wg.Wait()
}
