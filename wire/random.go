package wire

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	"time"
)

// Randomness an observer must not predict: mixing delays and the times of
// cover traffic. Everything is drawn from crypto/rand.

// Uniform returns a uniformly distributed float64 in [0, 1).
func Uniform() float64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53)
}

// ExpInterval draws the time to the next event of a Poisson process of rate
// events per second.
func ExpInterval(rate float64) time.Duration {
	return time.Duration(-math.Log1p(-Uniform()) / rate * float64(time.Second))
}

// ExpDelay draws a delay from the exponential distribution with mean mu.
// Draws are capped at 20·mu (probability e^-20) so they fit the NodeDelay
// command and any sensible node maximum.
func ExpDelay(mu time.Duration) time.Duration {
	return min(time.Duration(-math.Log1p(-Uniform())*float64(mu)), 20*mu)
}
