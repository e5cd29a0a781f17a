package client

import "time"

// RTTForTest returns c's smoothed round trip and how many replies it was
// measured on.
func RTTForTest(c *Client) (srtt time.Duration, samples int) {
	c.rtt.mu.Lock()
	defer c.rtt.mu.Unlock()
	return c.rtt.srtt, c.rtt.samples
}
