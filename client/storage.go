package client

import (
	"context"
	"fmt"

	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// Storage requests travel like every other packet: through the gateway and
// three mix layers to a random exit, which performs them in the DHT and
// answers through the request's SURB. Failures come back typed: test them
// with errors.Is against wire.ErrInvalid, ErrQuota, ErrNotFound,
// ErrTimeout, ErrTooLarge, ErrReplicas, ErrStale, ErrBusy.

func (c *Client) storage(ctx context.Context, op wire.Op, req any) ([]byte, error) {
	body, ok := req.([]byte)
	if !ok {
		var err error
		if body, err = wire.EncodeBody(req); err != nil {
			return nil, fmt.Errorf("client: %s request: %w", op, err)
		}
	}
	st, reply, err := c.Request(ctx, op, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", op, err)
	}
	if err := st.Err(); err != nil {
		return nil, fmt.Errorf("client: %s: %w", op, err)
	}
	return reply, nil
}

func putResult(b []byte) (int, error) {
	var r wire.PutResult
	if err := wire.DecodeBody(b, &r); err != nil {
		return 0, err
	}
	return r.Replicas, nil
}

// PutRecord stores a signed record (see package record) and returns how
// many storage nodes acknowledged it.
func (c *Client) PutRecord(ctx context.Context, key string, value []byte) (int, error) {
	b, err := c.storage(ctx, wire.OpPutRecord, &wire.RecordRequest{Key: key, Value: value})
	if err != nil {
		return 0, err
	}
	return putResult(b)
}

// GetRecord reads the record stored under key and checks it as storage
// nodes do (signature, hash, key, expiry; the exit could lie, the record
// cannot). Anonymous posts are not held to a proof-of-work difficulty here:
// storage nodes enforce the network's.
func (c *Client) GetRecord(ctx context.Context, key string) ([]byte, error) {
	v, err := c.storage(ctx, wire.OpGetRecord, &wire.RecordRequest{Key: key})
	if err != nil {
		return nil, err
	}
	if err := verifyRecord(key, v); err != nil {
		return nil, fmt.Errorf("client: record from the exit: %w", err)
	}
	return v, nil
}

func verifyRecord(key string, v []byte) error {
	ns, _, err := record.SplitKey(key)
	if err != nil {
		return err
	}
	if val, ok := record.Validators(0)[ns]; ok {
		return val.Validate(key, v)
	}
	return fmt.Errorf("%w: unknown namespace %q", record.ErrMalformed, ns)
}

// PutBox fills a mailbox box with a value made by record.SealBox.
func (c *Client) PutBox(ctx context.Context, id [32]byte, value []byte) (int, error) {
	b, err := c.storage(ctx, wire.OpPutBox, &wire.BoxRequest{ID: id, Value: value})
	if err != nil {
		return 0, err
	}
	return putResult(b)
}

// GetBox reads a mailbox box and verifies its signature against the box id
// (the exit could lie; the signature cannot).
func (c *Client) GetBox(ctx context.Context, id [32]byte) (*record.Box, error) {
	b, err := c.storage(ctx, wire.OpGetBox, &wire.BoxRequest{ID: id})
	if err != nil {
		return nil, err
	}
	box, err := record.DecodeBox(id, b)
	if err != nil {
		return nil, fmt.Errorf("client: box from the exit: %w", err)
	}
	return box, nil
}

// Append adds an encoded set item and returns how many replicas stored it.
func (c *Client) Append(ctx context.Context, item []byte) (int, error) {
	b, err := c.storage(ctx, wire.OpAppend, item)
	if err != nil {
		return 0, err
	}
	return putResult(b)
}

// Scan reads one page of a set.
func (c *Client) Scan(ctx context.Context, req wire.ScanRequest) (*wire.ScanResult, error) {
	b, err := c.storage(ctx, wire.OpScan, &req)
	if err != nil {
		return nil, err
	}
	var r wire.ScanResult
	if err := wire.DecodeBody(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
